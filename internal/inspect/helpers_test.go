package inspect

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ent is one tar entry of a crafted layer.
type ent struct {
	name string
	typ  byte
	body string // regular files
	mode int64
	uid  int
	gid  int
	link string
	size int64 // for regular files with a body of this many 'x' bytes (when body is "")
}

func dir(name string) ent            { return ent{name: name, typ: tar.TypeDir, mode: 0o755} }
func file(name, body string) ent     { return ent{name: name, typ: tar.TypeReg, body: body, mode: 0o644} }
func sized(name string, n int64) ent { return ent{name: name, typ: tar.TypeReg, size: n, mode: 0o644} }
func symlink(name, to string) ent {
	return ent{name: name, typ: tar.TypeSymlink, link: to, mode: 0o777}
}
func whiteout(name string) ent { return ent{name: name, typ: tar.TypeReg, mode: 0o644} }

// tarBytes writes entries in the order given.
func tarBytes(t *testing.T, entries []ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		body := []byte(e.body)
		if e.typ == tar.TypeReg && e.body == "" && e.size > 0 {
			body = bytes.Repeat([]byte("x"), int(e.size))
		}
		h := &tar.Header{
			Name: e.name, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Gid: e.gid, Linkname: e.link,
			ModTime: time.Unix(0, 0), Format: tar.FormatPAX,
		}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write(body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func layerOf(t *testing.T, tarData []byte, opts ...tarball.LayerOption) v1.Layer {
	t.Helper()
	opts = append([]tarball.LayerOption{tarball.WithMediaType(types.OCILayer)}, opts...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarData)), nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// ociBase is an empty OCI image with a platform.
func ociBase(t *testing.T) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// appendLayers adds layers, each with a history entry "berth: <name>".
func appendLayers(t *testing.T, base v1.Image, layers []v1.Layer, names []string) v1.Image {
	t.Helper()
	var adds []mutate.Addendum
	for i, l := range layers {
		adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: BerthCreatedByPrefix + names[i]}})
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func mustDigest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
