package sign

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/berth-dev/berth/internal/imageref"
)

// found is one signed (or, for plain statements, unsigned) object attached
// to an image, before its signature is checked.
type found struct {
	format   Format
	source   string         // where: "referrer sha256:…" or "tag …:sha256-….sig layer 0"
	predHint string         // predicate type from unsigned annotations ("" unknown)
	envelope *dsse.Envelope // bundle or DSSE layer
	plain    []byte         // an unsigned in-toto statement
	payload  []byte         // legacy simplesigning payload
	sig      string         // legacy signature annotation (base64)
	err      error          // could not be read or parsed
}

// FormatStatement is an unsigned in-toto statement attached as a referrer.
const FormatStatement Format = "statement"

// discoverReferrers reads the referrers of t that carry sigstore bundles,
// DSSE envelopes or in-toto statements. want filters on the predicate type
// hint of the referrer's annotations (when there is one) so unrelated
// bundles are not fetched.
func discoverReferrers(t *target, want func(predicateType string) bool) ([]found, error) {
	descs, err := referrers(t)
	if err != nil {
		return nil, err
	}
	var out []found
	for _, d := range descs {
		hint := d.Annotations[annotationBundlePredType]
		if hint == "" {
			hint = d.Annotations[annotationIntotoPredType]
		}
		if hint != "" && !want(hint) {
			continue
		}
		src := "referrer " + d.Digest.String()
		switch {
		case isBundleMediaType(d.ArtifactType), d.ArtifactType == IntotoPayloadType:
		case d.ArtifactType == "", d.ArtifactType == emptyMediaType:
			// Registries that report the config's media type instead of
			// the manifest's artifactType (ggcr's): the layers decide.
		default:
			continue // not ours: SBOMs as plain files, promotion records, notation…
		}
		m, err := fetchManifest(t, t.repo.Digest(d.Digest.String()))
		if err != nil {
			out = append(out, found{source: src, err: err})
			continue
		}
		if m.Subject == nil || m.Subject.Digest != t.desc.Digest {
			out = append(out, found{source: src, err: fmt.Errorf("subject is not %s", t.Digest())})
			continue
		}
		keep := func(l v1.Descriptor) bool {
			mt := string(l.MediaType)
			return isBundleMediaType(mt) || mt == dsseMediaType || mt == IntotoPayloadType
		}
		for _, lb := range fetchLayers(t, m, keep) {
			f := found{source: src, predHint: hint}
			if lb.err != nil {
				f.err = lb.err
				out = append(out, f)
				continue
			}
			switch mt := string(lb.desc.MediaType); {
			case isBundleMediaType(mt):
				f.format = FormatBundle
				f.envelope, f.err = ParseBundle(lb.data)
			case mt == dsseMediaType:
				f.format = FormatBundle
				f.envelope, f.err = ParseEnvelope(lb.data)
			default:
				f.format = FormatStatement
				f.plain = lb.data
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// discoverTag reads the layers of mediaType in t's cosign tag-schema
// manifest for suffix (".sig", ".att"); none when the tag does not exist.
func discoverTag(t *target, suffix, mediaType string) ([]found, error) {
	tag := t.tag(suffix)
	m, err := fetchManifest(t, tag)
	if err != nil {
		if imageref.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s: %w", tag, err)
	}
	var out []found
	i := 0
	for _, lb := range fetchLayers(t, m, func(l v1.Descriptor) bool { return l.MediaType == types.MediaType(mediaType) }) {
		f := found{format: FormatLegacy, source: fmt.Sprintf("tag %s layer %d", tag, i), predHint: lb.desc.Annotations[annotationPredicateType]}
		i++
		if lb.err != nil {
			f.err = lb.err
		} else if mediaType == dsseMediaType {
			f.envelope, f.err = ParseEnvelope(lb.data)
		} else {
			f.payload = lb.data
			f.sig = lb.desc.Annotations[annotationSignature]
		}
		out = append(out, f)
	}
	return out, nil
}
