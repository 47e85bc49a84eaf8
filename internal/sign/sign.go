package sign

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
)

// Format is how a signature is stored in the registry.
type Format string

// Signature formats.
const (
	// FormatBundle is a sigstore bundle v0.3 attached as an OCI referrer
	// (cosign --new-bundle-format; cosign v3's default).
	FormatBundle Format = "bundle"
	// FormatLegacy is the simplesigning payload as a layer of the
	// <repo>:sha256-<hex>.sig manifest (cosign v2's default).
	FormatLegacy Format = "legacy"
)

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case FormatBundle, FormatLegacy:
		return Format(s), nil
	case "":
		return FormatBundle, nil
	}
	return "", fmt.Errorf("unknown signature format %q (want bundle or legacy)", s)
}

// SignOptions tune Sign.
type SignOptions struct {
	Options
	Format Format // "" = FormatBundle
	// Annotations are signed with the image where cosign puts -a: legacy
	// payloads in `optional`, bundles in the statement subject's
	// `annotations` (cosign v3; v2.6 writes none into bundles).
	Annotations map[string]string
}

// SignResult says what Sign wrote.
type SignResult struct {
	Ref    string `json:"ref"`    // the image, pinned: repo@sha256:…
	Digest string `json:"digest"` // the signed manifest digest
	Format Format `json:"format"`
	// Location is where the signature went: the referrer manifest's
	// digest (bundle) or the tag (legacy).
	Location string `json:"location"`
}

// Sign signs the manifest ref names (a tag is resolved to its digest once;
// the signature is by digest) with k and attaches it in the registry.
func Sign(ctx context.Context, ref string, k *PrivateKey, o SignOptions) (*SignResult, error) {
	if k == nil {
		return nil, errors.New("no signing key")
	}
	f, err := ParseFormat(string(o.Format))
	if err != nil {
		return nil, err
	}
	t, err := resolve(ctx, ref, o.Options)
	if err != nil {
		return nil, err
	}
	res := &SignResult{Ref: t.digest.String(), Digest: t.Digest(), Format: f}
	switch f {
	case FormatLegacy:
		payload, err := newSimplesigning(t.repo.Name(), t.Digest(), o.Annotations)
		if err != nil {
			return nil, err
		}
		sig, err := k.signMessage(payload)
		if err != nil {
			return nil, err
		}
		tag, err := appendToTag(t, ".sig", simplesigningMediaType, payload,
			map[string]string{annotationSignature: base64.StdEncoding.EncodeToString(sig)})
		if err != nil {
			return nil, err
		}
		res.Location = tag.String()
	default:
		// Predicate {} and no subject name, as cosign v3 writes them.
		h, err := attachBundle(ctx, t, k, "", CosignSignPredicate, []byte("{}"), o.Annotations)
		if err != nil {
			return nil, err
		}
		res.Location = t.repo.Digest(h.String()).String()
	}
	return res, nil
}
