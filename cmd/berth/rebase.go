package main

import (
	"fmt"

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
		Long: `Rebase replaces the image's base layers with the layers of NEWBASE and keeps
every layer above them as they are (same blobs, nothing recompressed), so a
push uploads only a new config and manifest.

The old base is read from the image's org.opencontainers.image.base.name and
.base.digest annotations (berth build writes them), or given with --old-base.
Its layers must be exactly the image's first layers, or rebase refuses.

Rebasing is only safe when the new base is compatible with what the upper
layers expect (same distribution release, ABI-compatible libraries): check
the result before deploying it. An output is required: rebase never
overwrites the image it read unless told to with --push.

` + imageRefHelp,
		Example: `  # Pick up a patched base image, push under a new tag
  berth rebase localhost:5000/app:1.2.3 --onto localhost:5000/base:12.9 \
      --push localhost:5000/app:1.2.3-r1

  # Old base given explicitly, result into an OCI layout
  berth rebase oci-layout:./out:app --old-base debian:12.8 --onto debian:12.9 \
      --oci-layout ./out:app-rebased`,
		Args: cobra.ExactArgs(1),
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
			if asJSON {
				return writeIndentedJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "rebased %s from %s onto %s, wrote %s\n", args[0], res.OldBase, onto, dest)
			fmt.Fprintln(cmd.OutOrStdout(), res.Digest)
			return nil
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
