package sign

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// attachBundle signs an in-toto statement about t (predicateType,
// predicate; subject name subjectName, "" for none as cosign's signature
// statements; subject annotations) into a DSSE envelope, wraps it in a sigstore bundle and
// attaches it as a referrer, as cosign's WriteAttestationNewBundleFormat.
func attachBundle(ctx context.Context, t *target, k *PrivateKey, subjectName, predicateType string, predicate []byte, annotations map[string]string) (v1.Hash, error) {
	st, err := newStatement(subjectName, t.Digest(), predicateType, predicate, annotations)
	if err != nil {
		return v1.Hash{}, err
	}
	env, err := envelope(ctx, k, st)
	if err != nil {
		return v1.Hash{}, err
	}
	b, err := newBundle(env, k.Public())
	if err != nil {
		return v1.Hash{}, err
	}
	return writeReferrer(t, BundleMediaType, BundleMediaType, b, map[string]string{
		annotationCreated:        created(),
		annotationBundleContent:  "dsse-envelope",
		annotationBundlePredType: predicateType,
	})
}
