package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/trust"
)

func newSbomCommand() *cobra.Command {
	var (
		flags      cliflag.Image
		format     string
		provenance bool
	)
	cmd := &cobra.Command{
		Use:   "sbom IMAGE",
		Short: "Print an image's SBOM (SPDX or CycloneDX) or its provenance",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := flags.Options()
			if err != nil {
				return err
			}
			d, err := trust.ReadSBOM(cmd.Context(), args[0], format, provenance, version, o)
			if err != nil {
				return err
			}
			if d.Generated != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), d.Generated)
			}
			_, err = cmd.OutOrStdout().Write(d.Doc)
			return err
		},
	}
	flags.Add(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "spdx", "SBOM format: spdx or cyclonedx")
	cmd.Flags().BoolVar(&provenance, "provenance", false, "print the SLSA v1 provenance instead of an SBOM")
	return cmd
}
