package cache

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/build/layer"
)

func buildLayer(t *testing.T, c *Cache, content string) layer.Built {
	t.Helper()
	tr := layer.NewTree()
	if err := tr.Add(layer.Entry{Path: "etc/motd", Type: tar.TypeReg, Mode: 0o644, Size: int64(len(content)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil }}); err != nil {
		t.Fatal(err)
	}
	b, err := layer.Build(tr, c.TempDir(), layer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStoreLookup(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Lookup("abc123"); ok {
		t.Fatal("hit in an empty cache")
	}
	b := buildLayer(t, c, "hello\n")
	stored, err := c.Store("abc123", b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b.Path); !os.IsNotExist(err) {
		t.Fatal("temp layer file still exists after Store")
	}
	got, ok := c.Lookup("abc123")
	if !ok {
		t.Fatal("miss after Store")
	}
	if got != stored {
		t.Fatalf("Lookup = %+v, Store returned %+v", got, stored)
	}
	want := b
	want.Path = filepath.Join(c.Dir(), "blobs", "sha256", b.Digest.Encoded())
	if got != want {
		t.Fatalf("Lookup = %+v, want %+v", got, want)
	}

	// A second key with the same content keeps one blob.
	b2 := buildLayer(t, c, "hello\n")
	if _, err := c.Store("def456", b2); err != nil {
		t.Fatal(err)
	}
	blobs, _ := os.ReadDir(filepath.Join(c.Dir(), "blobs", "sha256"))
	tmp, _ := os.ReadDir(c.TempDir())
	if len(blobs) != 1 || len(tmp) != 0 {
		t.Fatalf("blobs %d, tmp %d; want 1, 0", len(blobs), len(tmp))
	}

	// A reopened cache (another process) sees the record.
	c2, _ := Open(c.Dir())
	if g, ok := c2.Lookup("def456"); !ok || g.Digest != b.Digest {
		t.Fatal("record not visible after reopen")
	}

	// Blob gone or truncated: a miss, not a broken layer.
	if err := os.Truncate(got.Path, 3); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Lookup("abc123"); ok {
		t.Fatal("hit with a truncated blob")
	}
	os.Remove(got.Path)
	if _, ok := c.Lookup("abc123"); ok {
		t.Fatal("hit with a missing blob")
	}
}

func TestKeyValidation(t *testing.T) {
	c, _ := Open(t.TempDir())
	b := buildLayer(t, c, "x")
	for _, k := range []string{"", "../escape", "a/b", ".hidden", strings.Repeat("a", 201)} {
		if _, err := c.Store(k, b); err == nil {
			t.Errorf("key %q accepted", k)
		}
		if _, ok := c.Lookup(k); ok {
			t.Errorf("key %q hit", k)
		}
	}
}

func TestLayerOfDoesNotReadTheBlob(t *testing.T) {
	c, _ := Open(t.TempDir())
	b, err := c.Store("k1", buildLayer(t, c, strings.Repeat("layer data\n", 1000)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := LayerOf(b)
	if err != nil {
		t.Fatal(err)
	}
	// Bytes come from the file.
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if digest.FromBytes(data) != b.Digest {
		t.Fatal("Compressed() bytes do not match the digest")
	}
	rc, err = l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(rc)
	rc.Close()
	if digest.FromBytes(raw) != b.DiffID {
		t.Fatal("Uncompressed() bytes do not match the diff ID")
	}

	// With the blob moved away, everything needed to assemble an image
	// still works: proof that nothing re-reads, re-hashes or recompresses.
	hidden := b.Path + ".hidden"
	if err := os.Rename(b.Path, hidden); err != nil {
		t.Fatal(err)
	}
	defer os.Rename(hidden, b.Path)
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: l})
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != 1 || m.Layers[0].Digest.String() != b.Digest.String() || m.Layers[0].Size != b.Size ||
		m.Layers[0].MediaType != types.OCILayer {
		t.Fatalf("manifest layer %+v", m.Layers)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RootFS.DiffIDs[0].String() != b.DiffID.String() {
		t.Fatalf("diff ID %s", cfg.RootFS.DiffIDs[0])
	}
	if _, err := img.Digest(); err != nil {
		t.Fatal(err)
	}
}
