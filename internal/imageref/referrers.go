package imageref

import (
	"context"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Referrers lists the artifacts whose subject is the manifest ref names,
// with the digest of that manifest.
func Referrers(ctx context.Context, ref string, o Options) (v1.Hash, []v1.Descriptor, error) {
	l, err := parse(ref, o, false)
	if err != nil {
		return v1.Hash{}, nil, err
	}
	if l.kind != kindRegistry {
		return v1.Hash{}, nil, fmt.Errorf("%s: referrers live in a registry; not a registry reference", ref)
	}
	opts := remoteOptions(ctx, o)
	d, err := remote.Head(l.ref, opts...)
	if err != nil {
		return v1.Hash{}, nil, fmt.Errorf("%s: %w", ref, err)
	}
	idx, err := remote.Referrers(l.ref.Context().Digest(d.Digest.String()), opts...)
	if err != nil {
		return v1.Hash{}, nil, fmt.Errorf("referrers of %s: %w", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return v1.Hash{}, nil, err
	}
	return d.Digest, im.Manifests, nil
}

// ReadArtifact returns the one blob of the artifact manifest digest in
// ref's repository (at most limit bytes).
func ReadArtifact(ctx context.Context, ref string, digest v1.Hash, limit int64, o Options) ([]byte, error) {
	l, err := parse(ref, o, false)
	if err != nil {
		return nil, err
	}
	if l.kind != kindRegistry {
		return nil, fmt.Errorf("%s: not a registry reference", ref)
	}
	img, err := remote.Image(l.ref.Context().Digest(digest.String()), remoteOptions(ctx, o)...)
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(layers) != 1 {
		return nil, fmt.Errorf("artifact %s has %d blobs, want 1", digest, len(layers))
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("artifact %s: blob larger than %d bytes", digest, limit)
	}
	return b, nil
}
