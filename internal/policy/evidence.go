package policy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Where attestations say their predicate type.
const (
	// annotationBundlePredicate is set on cosign bundle referrers (v2.6+,
	// v3) holding an attestation.
	annotationBundlePredicate = "dev.sigstore.bundle.predicateType"
	// annotationStatementPredicate is set on berth's unsigned attestation
	// referrers (a bare in-toto statement, artifactType
	// application/vnd.in-toto+json).
	annotationStatementPredicate = "in-toto.io/predicate-type"
	// annotationPredicate is set on each layer of a legacy .att manifest.
	annotationPredicate = "predicateType"
)

// RegistryEvidence is the EvidenceFinder over the registry: the referrers
// of the image (cosign bundles, berth's unsigned statements and other
// artifacts whose artifactType, dev.sigstore.bundle.predicateType or
// in-toto.io/predicate-type annotation names the predicate type)
// and cosign's legacy sha256-<hex>.att tag (layers annotated
// predicateType). It checks that the attestation is attached, not that it
// is signed: require_signature covers the image itself.
type RegistryEvidence struct {
	// Options are ggcr's (auth, transport); the context is added per call.
	Options []remote.Option
	// Insecure allows plain HTTP beyond loopback registries.
	Insecure bool
}

// HasAttestation implements EvidenceFinder.
func (r RegistryEvidence) HasAttestation(ctx context.Context, ref string, predicateTypes []string) (bool, error) {
	var nopts []name.Option
	if r.Insecure || loopbackRef(ref) {
		nopts = append(nopts, name.Insecure)
	}
	d, err := name.NewDigest(ref, nopts...)
	if err != nil {
		return false, fmt.Errorf("%q is not REPO@DIGEST: %v", ref, err)
	}
	opts := append(slices.Clone(r.Options), remote.WithContext(ctx))
	idx, err := remote.Referrers(d, opts...)
	if err != nil && !notFound(err) {
		return false, fmt.Errorf("referrers of %s: %w", ref, err)
	}
	if err == nil {
		im, err := idx.IndexManifest()
		if err != nil {
			return false, err
		}
		for _, m := range im.Manifests {
			if slices.Contains(predicateTypes, m.ArtifactType) || slices.Contains(predicateTypes, m.Annotations[annotationBundlePredicate]) ||
				slices.Contains(predicateTypes, m.Annotations[annotationStatementPredicate]) {
				return true, nil
			}
		}
	}
	hex := strings.TrimPrefix(d.DigestStr(), "sha256:")
	img, err := remote.Image(d.Context().Tag("sha256-"+hex+".att"), opts...)
	if err != nil {
		if notFound(err) {
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

func notFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}

func loopbackRef(ref string) bool {
	host, _, _ := strings.Cut(ref, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
