package trust

import (
	"context"
	"errors"
	"fmt"
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
// with the public keys (loaded once, when the registry opens), reading the
// signatures through the registry's own in-process read port (by digest
// and tag-schema tags only).
type RegistryChecker struct{}

// LoadKey implements registry.SignatureChecker: the key file as
// sign.LoadPublicKey reads it (a *sign.PublicKey; errors name the file).
func (RegistryChecker) LoadKey(path string) (any, error) {
	p, err := sign.LoadPublicKey(path)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Verified implements registry.SignatureChecker; keys are LoadKey's.
func (RegistryChecker) Verified(ctx context.Context, local http.RoundTripper, repo string, d digest.Digest, keys []any) (bool, error) {
	pubs := make([]*sign.PublicKey, 0, len(keys))
	for _, k := range keys {
		p, ok := k.(*sign.PublicKey)
		if !ok {
			return false, fmt.Errorf("key of type %T was not loaded by RegistryChecker.LoadKey", k)
		}
		pubs = append(pubs, p)
	}
	_, err := sign.Verify(ctx, localHost+"/"+repo+"@"+d.String(), pubs, sign.VerifyOptions{Options: sign.Options{Transport: local}})
	var nv *sign.NotVerifiedError
	if errors.As(err, &nv) {
		return false, nil
	}
	return err == nil, err
}
