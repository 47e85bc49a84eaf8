package trust

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/sign"
)

// annotationPredicate is set on each layer of a legacy .att manifest.
const annotationPredicate = "predicateType"

// RegistryEvidence is policy.EvidenceFinder over the registry: the referrers
// of the image (imageref.Referrers: cosign bundles, berth's unsigned
// statements and other artifacts whose artifactType or announced predicate
// type, sign.ReferrerPredicateType, names the predicate type) and cosign's
// legacy sha256-<hex>.att tag (layers annotated predicateType). It checks
// that the attestation is attached, not that it is signed:
// require_signature covers the image itself. Registries are reached as
// imageref reaches them (the default keychain's credentials, plain HTTP
// for loopback ones).
type RegistryEvidence struct {
	// Insecure allows plain HTTP beyond loopback registries.
	Insecure bool
	// Transport is the HTTP transport (nil: the default).
	Transport http.RoundTripper
}

var _ policy.EvidenceFinder = RegistryEvidence{}

// HasAttestation implements policy.EvidenceFinder.
func (r RegistryEvidence) HasAttestation(ctx context.Context, ref string, predicateTypes []string) (bool, error) {
	d, err := name.NewDigest(ref)
	if err != nil {
		return false, fmt.Errorf("%q is not REPO@DIGEST: %v", ref, err)
	}
	o := imageref.Options{Insecure: r.Insecure, Transport: r.Transport}
	_, refs, err := imageref.Referrers(ctx, ref, o)
	if err != nil && !imageref.IsNotFound(err) {
		return false, err
	}
	for _, m := range refs {
		if slices.Contains(predicateTypes, m.ArtifactType) || slices.Contains(predicateTypes, sign.ReferrerPredicateType(m.Annotations)) {
			return true, nil
		}
	}
	sref, opts, err := imageref.Remote(ctx, ref, o)
	if err != nil {
		return false, err
	}
	hex := strings.TrimPrefix(d.DigestStr(), "sha256:")
	img, err := remote.Image(sref.Context().Tag("sha256-"+hex+".att"), opts...)
	if err != nil {
		if imageref.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("%s:sha256-%s.att: %w", d.Context(), hex, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return false, err
	}
	for _, l := range m.Layers {
		if slices.Contains(predicateTypes, l.Annotations[annotationPredicate]) {
			return true, nil
		}
	}
	return false, nil
}
