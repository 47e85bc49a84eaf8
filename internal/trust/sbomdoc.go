package trust

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/sbom"
	"github.com/berth-dev/berth/internal/sign"
)

// maxAttestation bounds an attestation blob berth reads: as much as
// internal/sign accepts.
const maxAttestation = sign.MaxPayload

// SBOMDocument is what `berth sbom` prints: an image's attached SBOM or
// provenance, or an SBOM generated from the image when none is attached.
type SBOMDocument struct {
	// Doc is the document, indented JSON ending in a newline.
	Doc []byte
	// Generated, when not "", says why the SBOM was generated from the
	// image rather than read from an attestation.
	Generated string
}

// ReadSBOM returns ref's SBOM in format ("spdx" or "cyclonedx") or, with
// provenance, its SLSA provenance: the predicate of the last-listed
// attestation of that type referring to the image, else (SBOMs only) one
// generated from the image by berthVersion.
func ReadSBOM(ctx context.Context, ref, format string, provenance bool, berthVersion string, o imageref.Options) (*SBOMDocument, error) {
	var want string
	switch format {
	case "spdx":
		want = sign.PredicateSPDX
	case "cyclonedx":
		want = sign.PredicateCycloneDX
	default:
		return nil, fmt.Errorf("--format %q: want spdx or cyclonedx", format)
	}
	if provenance {
		want = sign.PredicateSLSA1
	}
	doc, err := AttachedPredicate(ctx, ref, want, o)
	if err == nil {
		return &SBOMDocument{Doc: doc}, nil
	}
	var na NotAttachedError
	if provenance || !errors.As(err, &na) {
		return nil, err
	}
	img, err := imageref.Load(ctx, ref, o)
	if err != nil {
		return nil, err
	}
	inv, err := sbom.Scan(img, ref)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	render := sbom.SPDX
	if format == "cyclonedx" {
		render = sbom.CycloneDX
	}
	if doc, err = render(inv, sbom.Meta{Tool: berthVersion}); err != nil {
		return nil, err
	}
	return &SBOMDocument{Doc: doc, Generated: na.Error() + ": the SBOM is generated from the image"}, nil
}

// NotAttachedError says an image has no attestation of the type asked for.
type NotAttachedError struct{ msg string }

func (e NotAttachedError) Error() string { return e.msg }

// AttachedPredicate returns the predicate of the last-listed referrer of
// ref with predicate type want (a NotAttachedError when there is none or
// ref is not a registry image), indented, ending in a newline.
func AttachedPredicate(ctx context.Context, ref, want string, o imageref.Options) ([]byte, error) {
	if imageref.IsLocal(ref) {
		return nil, NotAttachedError{ref + " is not in a registry: it has no attestations"}
	}
	_, refs, err := imageref.Referrers(ctx, ref, o)
	if err != nil {
		return nil, err
	}
	for i := len(refs) - 1; i >= 0; i-- {
		d := refs[i]
		if sign.ReferrerPredicateType(d.Annotations) != want {
			continue
		}
		blob, err := imageref.ReadArtifact(ctx, ref, d.Digest, maxAttestation, o)
		if err != nil {
			return nil, fmt.Errorf("%s: attestation %s: %w", ref, d.Digest, err)
		}
		st, err := sign.StatementOf(blob)
		if err != nil {
			return nil, fmt.Errorf("%s: attestation %s: %w", ref, d.Digest, err)
		}
		return append(indentJSON(st.Predicate), '\n'), nil
	}
	return nil, NotAttachedError{ref + ": no " + want + " attestation is attached"}
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
