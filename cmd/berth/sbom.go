package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/sbom"
)

// maxAttestation bounds an attestation blob berth reads.
const maxAttestation = 64 << 20

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
			var want string
			switch format {
			case "spdx":
				want = sbom.SPDXPredicateType
			case "cyclonedx":
				want = sbom.CycloneDXPredicateType
			default:
				return fmt.Errorf("--format %q: want spdx or cyclonedx", format)
			}
			if provenance {
				want = sbom.ProvenancePredicateType
			}
			doc, err := attachedPredicate(cmd.Context(), args[0], want, o)
			if err == nil {
				_, err = cmd.OutOrStdout().Write(doc)
				return err
			}
			var na notAttached
			if provenance || !errors.As(err, &na) {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%v: the SBOM is generated from the image\n", err)
			img, err := imageref.Load(cmd.Context(), args[0], o)
			if err != nil {
				return err
			}
			inv, err := sbom.Scan(img, args[0])
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			render := sbom.SPDX
			if format == "cyclonedx" {
				render = sbom.CycloneDX
			}
			if doc, err = render(inv, sbom.Meta{Tool: version}); err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(doc)
			return err
		},
	}
	flags.Add(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "spdx", "SBOM format: spdx or cyclonedx")
	cmd.Flags().BoolVar(&provenance, "provenance", false, "print the SLSA v1 provenance instead of an SBOM")
	return cmd
}

// notAttached says an image has no attestation of the type asked for.
type notAttached struct{ msg string }

func (e notAttached) Error() string { return e.msg }

// attachedPredicate returns the predicate of the last-listed referrer of
// ref with predicate type want (a notAttached error when there is none or
// ref is not a registry image).
func attachedPredicate(ctx context.Context, ref, want string, o imageref.Options) ([]byte, error) {
	if isLocalImage(ref) {
		return nil, notAttached{ref + " is not in a registry: it has no attestations"}
	}
	_, refs, err := imageref.Referrers(ctx, ref, o)
	if err != nil {
		return nil, err
	}
	for i := len(refs) - 1; i >= 0; i-- {
		d := refs[i]
		if sbom.ReferrerPredicateType(d.Annotations) != want {
			continue
		}
		blob, err := imageref.ReadArtifact(ctx, ref, d.Digest, maxAttestation, o)
		if err != nil {
			return nil, fmt.Errorf("%s: attestation %s: %w", ref, d.Digest, err)
		}
		st, err := sbom.StatementOf(blob)
		if err != nil {
			return nil, fmt.Errorf("%s: attestation %s: %w", ref, d.Digest, err)
		}
		return append(indentJSON(st.Predicate), '\n'), nil
	}
	return nil, notAttached{ref + ": no " + want + " attestation is attached"}
}

// indentJSON lays the predicate out as berth writes documents (a
// statement's predicate is compact).
func indentJSON(raw []byte) []byte {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return raw
	}
	return b.Bytes()
}
