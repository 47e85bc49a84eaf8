package imageref

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Artifact is a referrer to attach: one blob of content, described by
// ArtifactType and Annotations.
type Artifact struct {
	ArtifactType string
	// MediaType is the blob's media type.
	MediaType   string
	Blob        []byte
	Annotations map[string]string
}

// emptyJSON is the OCI empty descriptor's content: the config of an
// artifact that has none.
var emptyJSON = []byte("{}")

// Attach pushes a as an OCI artifact manifest whose subject is the image
// subject names (see Attacher.Attach).
func Attach(ctx context.Context, subject string, a Artifact, o Options) (v1.Hash, error) {
	return (&Attacher{Options: o}).Attach(ctx, subject, a)
}

// Attacher attaches artifacts to images, reusing one authenticated
// client per process (no new ping and token per call) and each subject's
// descriptor.
type Attacher struct {
	Options Options

	mu       sync.Mutex
	puller   *remote.Puller
	pusher   *remote.Pusher
	subjects map[string]*v1.Descriptor
}

func (at *Attacher) clients(ctx context.Context) (*remote.Puller, *remote.Pusher, error) {
	at.mu.Lock()
	defer at.mu.Unlock()
	if at.puller == nil {
		opts := remoteOptions(context.Background(), at.Options)
		pl, err := remote.NewPuller(opts...)
		if err != nil {
			return nil, nil, err
		}
		ps, err := remote.NewPusher(opts...)
		if err != nil {
			return nil, nil, err
		}
		at.puller, at.pusher, at.subjects = pl, ps, map[string]*v1.Descriptor{}
	}
	return at.puller, at.pusher, nil
}

// Attach pushes a as an OCI artifact manifest whose subject is the image
// subject names (a registry reference; a tag is resolved to its digest)
// and returns the artifact's manifest digest. The manifest is pushed by
// digest (no tag): registries with the referrers API list it, others get
// go-containerregistry's fallback tag schema. An artifact the repository
// already holds (the same bytes: berth's are deterministic) is not pushed
// again.
func (at *Attacher) Attach(ctx context.Context, subject string, a Artifact) (v1.Hash, error) {
	l, err := parse(subject, at.Options, false)
	if err != nil {
		return v1.Hash{}, err
	}
	if l.kind != kindRegistry {
		return v1.Hash{}, fmt.Errorf("%s: referrers live in a registry; not a registry reference", subject)
	}
	puller, pusher, err := at.clients(ctx)
	if err != nil {
		return v1.Hash{}, err
	}
	at.mu.Lock()
	sd := at.subjects[l.ref.String()]
	at.mu.Unlock()
	if sd == nil {
		if sd, err = puller.Head(ctx, l.ref); err != nil {
			return v1.Hash{}, fmt.Errorf("%s: %w", subject, err)
		}
		at.mu.Lock()
		at.subjects[l.ref.String()] = sd
		at.mu.Unlock()
	}
	empty, _, _ := v1.SHA256(bytes.NewReader(emptyJSON))
	bh, _, _ := v1.SHA256(bytes.NewReader(a.Blob))
	m := ocispec.Manifest{
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: a.ArtifactType,
		Config:       ocispec.Descriptor{MediaType: ocispec.MediaTypeEmptyJSON, Digest: digest.Digest(empty.String()), Size: int64(len(emptyJSON))},
		Layers:       []ocispec.Descriptor{{MediaType: a.MediaType, Digest: digest.Digest(bh.String()), Size: int64(len(a.Blob))}},
		Subject:      &ocispec.Descriptor{MediaType: string(sd.MediaType), Digest: digest.Digest(sd.Digest.String()), Size: sd.Size},
		Annotations:  a.Annotations,
	}
	m.SchemaVersion = 2
	raw, err := json.Marshal(m)
	if err != nil {
		return v1.Hash{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return v1.Hash{}, err
	}
	repo := l.ref.Context()
	if _, err := puller.Head(ctx, repo.Digest(h.String())); err == nil {
		return h, nil // attached before
	}
	for _, blob := range []v1.Layer{static.NewLayer(emptyJSON, types.MediaType(ocispec.MediaTypeEmptyJSON)), static.NewLayer(a.Blob, types.MediaType(a.MediaType))} {
		if err := pusher.Upload(ctx, repo, blob); err != nil {
			return v1.Hash{}, err
		}
	}
	if err := pusher.Put(ctx, repo.Digest(h.String()), rawManifest(raw)); err != nil {
		return v1.Hash{}, err
	}
	return h, nil
}

// rawManifest is a manifest to PUT as it is.
type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error)        { return r, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

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
