package trust

import (
	"context"
	"errors"
	"net/http"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/sign"
)

// localHost is the registry name the checker's references use: the read
// port answers in-process whatever the host, and a loopback name keeps
// the client on plain HTTP.
const localHost = "localhost"

// RegistryChecker is the registry's SignatureChecker over internal/sign:
// requireSignature: {keys: [...]} verifies a manifest's cosign signatures
// with the public key files, reading them through the registry's own
// in-process read port (by digest and tag-schema tags only).
type RegistryChecker struct{}

// Verified implements registry.SignatureChecker.
func (RegistryChecker) Verified(ctx context.Context, local http.RoundTripper, repo string, d digest.Digest, keys []string) (bool, error) {
	pubs, err := sign.LoadPublicKeys(keys)
	if err != nil {
		return false, err
	}
	_, err = sign.Verify(ctx, localHost+"/"+repo+"@"+d.String(), pubs, sign.VerifyOptions{Options: sign.Options{Transport: local}})
	var nv *sign.NotVerifiedError
	if errors.As(err, &nv) {
		return false, nil
	}
	return err == nil, err
}
