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
		Long: `sbom prints the SBOM attached to a registry image (as berth build --push and
berth ship attach it: an in-toto attestation referring to the image), in
SPDX 2.3 JSON (default) or CycloneDX 1.6 JSON, or with --provenance its SLSA
v1 provenance. When none is attached (or the image is not in a registry) the
SBOM is generated from the image and stderr says so; provenance can only
come from the build.

The SBOM lists the Debian packages of the image's dpkg status data (purl
pkg:deb/debian/NAME@VERSION?arch=…&distro=debian-12, source package,
licences from DEP-5 copyright files), the Go modules and Go version of every
Go binary's build info, and the files of berth.yaml files layers with their
digests. See docs/sbom.md.

` + imageRefHelp,
		Example: `  berth sbom 127.0.0.1:5000/example/app:1.0
  berth sbom 127.0.0.1:5000/example/app:1.0 --format cyclonedx
  berth sbom 127.0.0.1:5000/example/app@sha256:… --provenance
  berth sbom oci-layout:./out:app`,
		Args: cobra.ExactArgs(1),
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
