package store

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestLayerCompressions(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	s := openStore(t)
	gz := tarLayer(t, ent{name: "gzip", body: "g"})
	zb := tarBytes(t, []ent{{name: "zstd", body: "z"}})
	zs, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(zb)), nil },
		tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
	if err != nil {
		t.Fatal(err)
	}
	plain := static.NewLayer(tarBytes(t, []ent{{name: "plain", body: "p"}}), types.OCIUncompressedLayer)
	img, err := s.Import(ctx, "example.com/mixed:v1", imageOf(t, []v1.Layer{gz, zs, plain}...))
	if err != nil {
		t.Fatal(err)
	}
	if mt := img.Layers[1].MediaType; mt != string(types.OCILayerZStd) {
		t.Fatalf("layer 1 media type %s, want zstd", mt)
	}
	f, err := s.openBlob(img.Layers[1].Digest)
	if err != nil {
		t.Fatal(err)
	}
	magic := make([]byte, 4)
	io.ReadFull(f, magic)
	f.Close()
	if !bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		t.Fatalf("layer 1 blob starts with %x, not the zstd magic", magic)
	}
	dir := filepath.Join(t.TempDir(), "c")
	rootfs, err := s.Mount(ctx, "mixed", img, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unmount(dir)
	for name, want := range map[string]string{"gzip": "g", "zstd": "z", "plain": "p"} {
		if b, err := os.ReadFile(filepath.Join(rootfs, name)); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v", name, b, err)
		}
	}
}
