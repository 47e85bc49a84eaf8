package imageref

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Remote parses s as a registry reference (plain HTTP for loopback
// registries and with o.Insecure, as everywhere in berth) and returns it
// with the remote options berth uses for it (docker config credentials,
// o.Transport). For callers that talk to the registry API themselves,
// e.g. to write signatures and referrers.
func Remote(ctx context.Context, s string, o Options) (name.Reference, []remote.Option, error) {
	l, err := parse(s, o, false)
	if err != nil {
		return nil, nil, err
	}
	if l.kind != kindRegistry {
		return nil, nil, fmt.Errorf("%s: is an %s, not a registry reference (signatures live in a registry)", s, l.kind)
	}
	return l.ref, remoteOptions(ctx, o), nil
}
