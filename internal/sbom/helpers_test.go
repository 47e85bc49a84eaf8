package sbom

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// entry is one tar entry of a test layer.
type entry struct {
	path, link string
	typ        byte
	mode       int64
	data       []byte
}

func reg(p, data string) entry {
	return entry{path: p, typ: tar.TypeReg, mode: 0o644, data: []byte(data)}
}

func layerOf(t testing.TB, es ...entry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		hdr := &tar.Header{Name: e.path, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, Size: int64(len(e.data)), ModTime: time.Unix(0, 0)}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write(e.data)
		}
	}
	tw.Close()
	raw := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// kindLayer is a layer with berth's history (the layer kind in Comment).
type kindLayer struct {
	kind    string
	entries []entry
}

func imageOf(t testing.TB, ls ...kindLayer) v1.Image {
	t.Helper()
	img := empty.Image
	for i, l := range ls {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: layerOf(t, l.entries...),
			History: v1.History{CreatedBy: "berth: layer" + string(rune('a'+i)), Comment: l.kind, Created: v1.Time{Time: time.Unix(1700000000, 0)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", "amd64", v1.Time{Time: time.Unix(1700000000, 0)}
	img, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

var (
	goappOnce sync.Once
	goappBin  []byte
	goappErr  error
)

// goBinary builds testdata/goapp once: a real Go binary with a module
// dependency (and its go.sum hash) in its build info.
func goBinary(t testing.TB) []byte {
	t.Helper()
	goappOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sbom-goapp")
		if err != nil {
			goappErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "goapp")
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./testdata/goapp")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod -buildvcs=false")
		if msg, err := cmd.CombinedOutput(); err != nil {
			goappErr = fmt.Errorf("go build: %v\n%s", err, msg)
			return
		}
		goappBin, goappErr = os.ReadFile(out)
	})
	if goappErr != nil {
		t.Fatal(goappErr)
	}
	return goappBin
}

const dep5 = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: glibc

Files: *
Copyright: 1991-2023 Free Software Foundation, Inc.
License: LGPL-2.1+

Files: debian/*
License: GPL-2+ or Artistic
 The text.
 .
 More text.

License: LGPL-2.1+
 On Debian systems, see /usr/share/common-licenses/LGPL-2.1.
`

// testImage is a small image with every kind of thing Scan reports and the
// traps it must avoid.
func testImage(t testing.TB) v1.Image {
	t.Helper()
	return imageOf(t,
		kindLayer{"debs", []entry{
			{path: "etc/os-release", typ: tar.TypeSymlink, link: "../usr/lib/os-release"},
			reg("usr/lib/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"),
			reg("var/lib/dpkg/status.d/libc6", "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\nSource: glibc\nDescription: GNU C Library\n multi-line.\n"),
			reg("var/lib/dpkg/status.d/libc6.md5sums", "d41d8cd98f00b204e9800998ecf8427e  usr/lib/x\n"),
			reg("var/lib/dpkg/status.d/base-files", "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n"),
			reg("var/lib/dpkg/status.d/libssl3", "Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\nSource: openssl (3.0.11-1~deb12u1)\n"),
			reg("var/lib/dpkg/status.d/gone", "Package: gone\nVersion: 1\nArchitecture: all\n"),
			reg("usr/share/doc/libc6/copyright", dep5),
			reg("usr/share/doc/base-files/copyright", "This is the Debian prepackaged version of the Debian Base System.\nLicense: GPL\n"),
			{path: "usr/share/doc/libssl3", typ: tar.TypeSymlink, link: "openssl"},
			reg("usr/share/doc/openssl/copyright", "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: Apache-2.0\n"),
		}},
		kindLayer{"debs", []entry{
			reg("var/lib/dpkg/status", "Package: removed\nStatus: deinstall ok config-files\nVersion: 1.0\nArchitecture: amd64\n\nPackage: tzdata\nStatus: install ok installed\nVersion: 2024a-0+deb12u1\nArchitecture: all\n"),
			{path: "var/lib/dpkg/status.d/.wh.gone", typ: tar.TypeReg},
		}},
		kindLayer{"go", []entry{
			{path: "app/goapp", typ: tar.TypeReg, mode: 0o755, data: goBinary(t)},
			{path: "app/link", typ: tar.TypeSymlink, link: "goapp"},
		}},
		kindLayer{FilesKind, []entry{
			{path: "app/static/", typ: tar.TypeDir, mode: 0o755},
			reg("app/static/index.html", "<h1>hi</h1>\n"),
			reg("app/static/old.css", "old"),
			{path: "app/fifo", typ: tar.TypeFifo},
		}},
		kindLayer{FilesKind, []entry{
			reg("app/static/index.html", "<h1>hello</h1>\n"),
			{path: "app/static/.wh.old.css", typ: tar.TypeReg},
		}},
	)
}
