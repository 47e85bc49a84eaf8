package trust

import (
	"context"

	"github.com/berth-dev/berth/internal/sign"
)

// Attester is the release pipeline's Attester (build --push, ship) over
// sign.Attest, berth's one attestation format: without a key, the bare
// in-toto statement as a referrer (artifactType application/vnd.in-toto+json,
// annotated in-toto.io/predicate-type); with a key, the statement signed
// in a DSSE envelope, as a sigstore bundle referrer (cosign v3 /
// --new-bundle-format) and in the legacy <repo>:sha256-<hex>.att tag
// (cosign v2), so cosign verify-attestation accepts it either way.
type Attester struct {
	Key     *sign.PrivateKey // nil: unsigned
	Options sign.Options
}

// Attach attaches predicate to the image imageDigestRef (REPO@sha256:…).
func (a *Attester) Attach(ctx context.Context, imageDigestRef, predicateType string, predicate []byte) error {
	var formats []sign.Format
	if a.Key != nil {
		formats = []sign.Format{sign.FormatBundle, sign.FormatLegacy}
	}
	_, err := sign.Attest(ctx, imageDigestRef, predicateType, predicate, a.Key, sign.AttestOptions{Options: a.Options, Formats: formats})
	return err
}
