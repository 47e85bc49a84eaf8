package imageref

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Resolve returns the digest of the manifest (or index) the registry
// reference s names now.
func Resolve(ctx context.Context, s string, o Options) (v1.Hash, error) {
	l, err := parse(s, o, false)
	if err != nil {
		return v1.Hash{}, err
	}
	if l.kind != kindRegistry {
		return v1.Hash{}, fmt.Errorf("%s: not a registry reference", s)
	}
	desc, err := remote.Get(l.ref, remoteOptions(ctx, o)...)
	if err != nil {
		return v1.Hash{}, err
	}
	return desc.Digest, nil
}

// Ping checks that registry (host[:port]) answers the OCI API at /v2/ —
// 200, or 401 asking for credentials —, with the docker config's
// credentials; loopback registries (and all with o.Insecure) may answer
// over plain HTTP.
func Ping(ctx context.Context, registry string, o Options) error {
	var opts []name.Option
	if o.Insecure || isLoopback(registry) {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(registry, opts...)
	if err != nil {
		return fmt.Errorf("registry %q: %v", registry, err)
	}
	auth, err := authn.DefaultKeychain.Resolve(reg)
	if err != nil {
		return err
	}
	tr := o.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	_, err = transport.NewWithContext(ctx, reg, auth, tr, nil)
	return err
}
