package trust

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/sign"
	"github.com/berth-dev/berth/internal/vuln"
)

// AttestScan attaches a scan of an image in a registry as cosign's
// vulnerability attestation (predicate type sign.PredicateVulnCosign, the
// predicate vuln.Predicate renders) to the manifest that was scanned:
// REPO@<res.Target.Digest>, never the tag, which may have moved since.
// With a key the statement is signed (a sigstore bundle referrer); without
// one (k nil) the bare in-toto statement is attached.
func AttestScan(ctx context.Context, res *vuln.Result, db vuln.Stats, berthVersion string, k *sign.PrivateKey, o sign.Options) (*sign.AttestResult, error) {
	if res.Target.Kind != "image" || res.Target.Digest == "" {
		return nil, fmt.Errorf("%s is not an image scanned by digest: only a registry image can carry an attestation", res.Target.Name)
	}
	if _, _, err := imageref.Remote(ctx, res.Target.Name, imageref.Options{Insecure: o.Insecure}); err != nil {
		return nil, fmt.Errorf("attaching the scan: %w", err)
	}
	h, err := v1.NewHash(res.Target.Digest)
	if err != nil {
		return nil, err
	}
	ref, err := imageref.PinDigest(res.Target.Name, h)
	if err != nil {
		return nil, err
	}
	pred, err := vuln.Predicate(res, berthVersion, db)
	if err != nil {
		return nil, err
	}
	return sign.Attest(ctx, ref, sign.PredicateVulnCosign, pred, k, sign.AttestOptions{Options: o})
}
