package store

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ent is one entry of a crafted layer tar.
type ent struct {
	name     string
	typ      byte // tar.Type*; 0 means regular file
	mode     int64
	uid, gid int
	body     string
	link     string
	xattrs   map[string]string
}

var testTime = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func tarBytes(t *testing.T, ents []ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if typ == tar.TypeDir {
				mode = 0o755
			}
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Mode: mode, Uid: e.uid, Gid: e.gid,
			Linkname: e.link, ModTime: testTime, Format: tar.FormatPAX}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if len(e.xattrs) > 0 {
			h.PAXRecords = map[string]string{}
			for k, v := range e.xattrs {
				h.PAXRecords["SCHILY.xattr."+k] = v
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar header %s: %v", e.name, err)
		}
		if typ == tar.TypeReg {
			if _, err := io.WriteString(tw, e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tarLayer makes a gzip layer from crafted entries.
func tarLayer(t *testing.T, ents ...ent) v1.Layer {
	t.Helper()
	b := tarBytes(t, ents)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func imageOf(t *testing.T, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: testTime}
	cf.Config.Cmd = []string{"/bin/sh"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (overlay mounts, chown, device nodes)")
	}
}

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// baseAndTop is the two-layer image most tests use: the top layer deletes a
// file of the base, makes a directory opaque and adds a file.
func baseAndTop(t *testing.T) v1.Image {
	base := tarLayer(t,
		ent{name: "./", typ: tar.TypeDir, mode: 0o755},
		ent{name: "etc/", typ: tar.TypeDir},
		ent{name: "etc/passwd", body: "root:x:0:0::/root:/bin/sh\n"},
		ent{name: "etc/gone", body: "deleted above"},
		ent{name: "bin/", typ: tar.TypeDir},
		ent{name: "bin/tool", mode: 0o4755, body: "#!/bin/sh\n"},
		ent{name: "opq/", typ: tar.TypeDir},
		ent{name: "opq/a", body: "a"},
		ent{name: "opq/b", body: "b"},
		ent{name: "data/", typ: tar.TypeDir, mode: 0o750, uid: 1000, gid: 1000},
		ent{name: "data/file", mode: 0o640, uid: 1000, gid: 1001, body: "secret"},
		ent{name: "link", typ: tar.TypeSymlink, link: "etc/passwd"},
		ent{name: "abslink", typ: tar.TypeSymlink, link: "/etc/passwd"},
		ent{name: "hard", typ: tar.TypeLink, link: "etc/passwd"},
		ent{name: "withxattr", body: "x", xattrs: map[string]string{"user.berth": "hello"}},
		ent{name: "fifo", typ: tar.TypeFifo, mode: 0o600},
		ent{name: "implicit/parent/file", body: "no dir entries"},
	)
	top := tarLayer(t,
		ent{name: "etc/.wh.gone", body: ""},
		ent{name: "opq/", typ: tar.TypeDir},
		ent{name: "opq/.wh..wh..opq", body: ""},
		ent{name: "opq/c", body: "c"},
		ent{name: "newfile", body: "new"},
	)
	return imageOf(t, base, top)
}
