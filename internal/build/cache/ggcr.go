package cache

import (
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"github.com/berth-dev/berth/internal/build/layer"
)

// LayerOf returns a go-containerregistry layer over the compressed blob of b.
// Digest, DiffID, Size and MediaType come from b without touching the file;
// the blob is only read when its bytes are asked for (e.g. on upload), so a
// cached layer is never re-hashed or re-compressed.
func LayerOf(b layer.Built) (v1.Layer, error) {
	dig, err := v1.NewHash(b.Digest.String())
	if err != nil {
		return nil, fmt.Errorf("layer digest %q: %w", b.Digest, err)
	}
	diff, err := v1.NewHash(b.DiffID.String())
	if err != nil {
		return nil, fmt.Errorf("layer diff ID %q: %w", b.DiffID, err)
	}
	if b.Path == "" {
		return nil, fmt.Errorf("layer %s: no blob path", b.Digest)
	}
	return &fileLayer{b: b, digest: dig, diffID: diff}, nil
}

type fileLayer struct {
	b              layer.Built
	digest, diffID v1.Hash
}

var _ v1.Layer = (*fileLayer)(nil)

func (l *fileLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)     { return l.b.Size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) {
	return types.OCILayer, nil // application/vnd.oci.image.layer.v1.tar+gzip
}

func (l *fileLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.b.Path)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.b.Digest, err)
	}
	return f, nil
}

func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.b.Path)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.b.Digest, err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("layer %s: %w", l.b.Digest, err)
	}
	return &gzipFile{Reader: zr, f: f}, nil
}

type gzipFile struct {
	*gzip.Reader
	f *os.File
}

func (g *gzipFile) Close() error {
	err := g.Reader.Close()
	if cerr := g.f.Close(); err == nil {
		err = cerr
	}
	return err
}
