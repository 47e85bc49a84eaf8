package main

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/inspect"
)

func newDiffCommand() *cobra.Command {
	var (
		flags    cliflag.Image
		asJSON   bool
		exitCode bool
	)
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Show the files, Debian packages and configuration that differ between two images",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := flags.Options()
			if err != nil {
				return err
			}
			a, err := imageref.Load(cmd.Context(), args[0], o)
			if err != nil {
				return err
			}
			b, err := imageref.Load(cmd.Context(), args[1], o)
			if err != nil {
				return err
			}
			r, err := inspect.Diff(a, b)
			if err != nil {
				return err
			}
			if asJSON {
				err = writeIndentedJSON(cmd.OutOrStdout(), r)
			} else {
				inspect.WriteDiff(cmd.OutOrStdout(), r)
			}
			if err == nil && exitCode && !r.Empty() {
				return exitStatus(1)
			}
			return err
		},
	}
	flags.Add(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the differences as JSON")
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit 1 when the images differ, 0 when they do not")
	return cmd
}
