package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/rebase"
)

func newRebaseCommand() *cobra.Command {
	var (
		flags         cliflag.Image
		onto, oldBase string
		push, layout  string
		archive       string
		asJSON        bool
	)
	cmd := &cobra.Command{
		Use:   "rebase IMAGE --onto NEWBASE (--push REF | --oci-layout DIR[:TAG] | --docker-archive FILE[:REPO:TAG])",
		Short: "Swap an image's base layers for a new base without rebuilding",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dest, err := imageref.Destination(push, layout, archive)
			if err != nil {
				return err
			}
			o, err := flags.Options()
			if err != nil {
				return err
			}
			res, err := rebase.Run(cmd.Context(), rebase.Request{Image: args[0], OldBase: oldBase, Onto: onto, Dest: dest, Options: o})
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), asJSON, res, func(w io.Writer) { res.WriteText(w, cmd.ErrOrStderr(), args[0]) })
		},
	}
	flags.Add(cmd.Flags())
	cmd.Flags().StringVar(&onto, "onto", "", "the new base image (required)")
	cmd.Flags().StringVar(&oldBase, "old-base", "", "the image's current base (default: from its base.name/base.digest annotations)")
	cmd.Flags().StringVar(&push, "push", "", "push the result to this registry reference")
	cmd.Flags().StringVar(&layout, "oci-layout", "", "write the result to this OCI layout, DIR[:TAG]")
	cmd.Flags().StringVar(&archive, "docker-archive", "", "write the result to this docker-archive, FILE[:REPO:TAG]")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
