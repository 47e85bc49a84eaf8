package trust

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/sign"
)

// Verifier is the policy.SignatureVerifier over internal/sign: cosign
// signatures (bundle referrers or the legacy .sig tag) of the image's
// digest, checked offline against the environment's public keys.
type Verifier struct {
	Options sign.Options
}

// Verify implements policy.SignatureVerifier. A key file that cannot be
// read is an error naming it (the policy is misconfigured, not the image
// unsigned); an image with no signature, or none that verifies, is
// ok=false with the detail naming what was found and why each was refused.
func (v Verifier) Verify(ctx context.Context, ref string, keys []policy.Key) (bool, string, error) {
	pubs, err := loadKeys(keys)
	if err != nil {
		return false, "", err
	}
	res, err := sign.Verify(ctx, ref, pubs, sign.VerifyOptions{Options: v.Options})
	var nv *sign.NotVerifiedError
	if errors.As(err, &nv) {
		return false, rejectionDetail(nv, keys), nil
	}
	if err != nil {
		return false, "", err
	}
	if len(res.Signatures) == 0 {
		return false, "no signature", nil
	}
	return true, "verified with " + keyName(keys, res.Signatures[0].Key), nil
}

// loadKeys reads the policy's public key files; errors name the key as
// berth.yaml wrote it.
func loadKeys(keys []policy.Key) ([]*sign.PublicKey, error) {
	if len(keys) == 0 {
		return nil, errors.New("require_signature has no keys: name the public key files (cosign.pub) that may sign")
	}
	pubs := make([]*sign.PublicKey, 0, len(keys))
	for _, k := range keys {
		p, err := sign.LoadPublicKey(k.Path)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", k.Name, err)
		}
		pubs = append(pubs, p)
	}
	return pubs, nil
}

// keyName is the berth.yaml name of the key file at path.
func keyName(keys []policy.Key, path string) string {
	for _, k := range keys {
		if k.Path == path {
			return k.Name
		}
	}
	return path
}

// rejectionDetail says what was found: no signature at all, or each one
// and why it did not verify (with the berth.yaml key names).
func rejectionDetail(nv *sign.NotVerifiedError, keys []policy.Key) string {
	if len(nv.Rejected) == 0 {
		return "no signature"
	}
	parts := make([]string, 0, len(nv.Rejected))
	for _, r := range nv.Rejected {
		reason := r.Reason
		for _, k := range keys {
			reason = strings.ReplaceAll(reason, k.Path, k.Name)
		}
		parts = append(parts, r.Source+": "+reason)
	}
	n := "signature"
	if len(nv.Rejected) > 1 {
		n = "signatures"
	}
	return fmt.Sprintf("%d %s, none verifies: %s", len(nv.Rejected), n, strings.Join(parts, "; "))
}
