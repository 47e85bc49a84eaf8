package vuln

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func layer(t *testing.T, entries ...tarEntry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body)), Linkname: e.link}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

const zlibRecord = `Package: zlib1g
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 168
Maintainer: Mark Brown <broonie@debian.org>
Architecture: amd64
Multi-Arch: same
Source: zlib
Version: 1:1.2.13.dfsg-1
Depends: libc6 (>= 2.14)
Description: compression library - runtime
 zlib is a library implementing the deflate compression method.
`

const libcRecord = `Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u7
Description: GNU C Library: Shared libraries
`

const expatRecord = `Package: libexpat1
Status: install ok installed
Architecture: amd64
Source: expat
Version: 2.5.0-1+deb12u2
Description: XML parsing C library - runtime library
`

// buildVulnerableGoBinary builds a tiny main importing golang.org/x/text at
// v0.3.7 (GO-2022-1059), fetched through the module proxy.
func buildVulnerableGoBinary(t *testing.T) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Go binary (-short)")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/vulnapp\n\ngo 1.22\n\nrequire golang.org/x/text v0.3.7\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nimport (\n\t\"fmt\"\n\n\t\"golang.org/x/text/language\"\n)\n\nfunc main() {\n\tfmt.Println(language.ParseAcceptLanguage(\"en\"))\n}\n"), 0o644)
	cmd := exec.Command("go", "build", "-mod=mod", "-trimpath", "-o", "app", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "app"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImageListerReadsDpkgAndGoBuildInfo(t *testing.T) {
	bin := buildVulnerableGoBinary(t)
	img, err := mutate.AppendLayers(empty.Image,
		layer(t,
			tarEntry{name: "usr/lib/os-release", body: "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"},
			tarEntry{name: "etc/os-release", typ: tar.TypeSymlink, link: "../usr/lib/os-release"},
			tarEntry{name: "var/lib/dpkg/status.d/zlib1g", body: zlibRecord},
			tarEntry{name: "var/lib/dpkg/status.d/zlib1g.md5sums", body: "0123  usr/lib/x86_64-linux-gnu/libz.so.1\n"},
			tarEntry{name: "var/lib/dpkg/status.d/libc6", body: libcRecord},
			tarEntry{name: "var/lib/dpkg/status.d/libexpat1", body: expatRecord},
			// never followed: a link where a record would be
			tarEntry{name: "var/lib/dpkg/status.d/evil", typ: tar.TypeSymlink, link: "/etc/shadow"},
			tarEntry{name: "app", body: string(bin), mode: 0o755},
			tarEntry{name: "data.bin", body: "\x7fELFnot really", mode: 0o755},
		),
		// a later layer removes libexpat1
		layer(t, tarEntry{name: "var/lib/dpkg/status.d/.wh.libexpat1"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	purls, err := ImageLister{}.ListPackages(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	goVersion := runtimeGoVersion(t)
	want := []string{
		"pkg:deb/debian/libc6@2.36-9+deb12u7?arch=amd64&distro=debian-12&upstream=glibc",
		"pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib",
		"pkg:golang/golang.org/x/text@v0.3.7",
		"pkg:golang/stdlib@" + goVersion,
	}
	if !reflect.DeepEqual(purls, want) {
		t.Fatalf("ListPackages =\n%q\nwant\n%q", purls, want)
	}
	if testing.Short() {
		return
	}
	db := importDB(t, debianFixtures(t), goOSV(t))
	res, err := Scan(Target{Name: "img", Kind: "image"}, purls, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, f := range res.Findings {
		found[f.Package+" "+f.ID] = f.Fixed
	}
	for k, fixed := range map[string]string{
		"golang.org/x/text GO-2022-1059": "0.3.8",
		"zlib1g DEBIAN-CVE-2026-27171":   "1:1.2.13.dfsg-1+deb12u1",
		"zlib1g DEBIAN-CVE-2026-85091":   "1:1.2.13.dfsg-1+deb12u1",
		"libc6 DEBIAN-CVE-2010-4756":     "",
	} {
		if got, ok := found[k]; !ok || got != fixed {
			t.Errorf("finding %s: fixed %q (present %v), want %q", k, got, ok, fixed)
		}
	}
}

func runtimeGoVersion(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimPrefix(bytes.TrimSpace(out), []byte("go")))
}
