package inspect

import (
	"archive/tar"
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const statusFile = `Package: tzdata
Status: install ok installed
Version: 2024a-0+deb12u1
Description: time zone and daylight-saving time data
 continuation: not a field

Package: oldpkg
Status: deinstall ok config-files
Version: 1.0
`

func TestDiff(t *testing.T) {
	a := appendLayers(t, ociBase(t), []v1.Layer{
		layerOf(t, tarBytes(t, []ent{
			dir("etc/"), file("etc/a", "one"), file("etc/b", "b"), file("etc/c", "c"),
			symlink("etc/link", "a"), file("etc/gone", "bye"), file("etc/kind", "file"),
			dir("var/"), dir("var/lib/"), dir("var/lib/dpkg/"), dir("var/lib/dpkg/status.d/"),
			file("var/lib/dpkg/status.d/libc6", "Package: libc6\nVersion: 2.36-9\nArchitecture: amd64\n"),
			file("var/lib/dpkg/status.d/libc6.md5sums", "Package: bogus\nVersion: 9\n"),
			file("var/lib/dpkg/status.d/base-files", "Package: base-files\nVersion: 12.4\n"),
			file("var/lib/dpkg/status", statusFile),
		})),
	}, []string{"base"})

	b := appendLayers(t, ociBase(t), []v1.Layer{
		layerOf(t, tarBytes(t, []ent{
			dir("etc/"), file("etc/a", "one"), file("etc/b", "b"), file("etc/c", "c"),
			symlink("etc/link", "a"), file("etc/gone", "bye"), file("etc/kind", "file"),
			dir("var/"), dir("var/lib/"), dir("var/lib/dpkg/"), dir("var/lib/dpkg/status.d/"),
			file("var/lib/dpkg/status.d/libc6", "Package: libc6\nVersion: 2.36-9\nArchitecture: amd64\n"),
			file("var/lib/dpkg/status.d/libc6.md5sums", "Package: bogus\nVersion: 9\n"),
			file("var/lib/dpkg/status.d/base-files", "Package: base-files\nVersion: 12.4\n"),
			file("var/lib/dpkg/status", statusFile),
		})),
		// The second layer makes every change, on top of an identical first layer.
		layerOf(t, tarBytes(t, []ent{
			file("etc/a", "two"),
			{name: "etc/b", typ: tar.TypeReg, body: "b", mode: 0o600},
			{name: "etc/c", typ: tar.TypeReg, body: "c", mode: 0o644, uid: 65532, gid: 65532},
			symlink("etc/link", "b"),
			whiteout("etc/.wh.gone"),
			whiteout("etc/.wh.kind"), dir("etc/kind/"),
			file("etc/new", "new"),
			file("var/lib/dpkg/status.d/libc6", "Package: libc6\nVersion: 2.36-10\nArchitecture: amd64\n"),
			whiteout("var/lib/dpkg/status.d/.wh.base-files"),
			file("var/lib/dpkg/status.d/curl", "Package: curl\nVersion: 7.88.1-10\n"),
		})),
	}, []string{"base", "update"})

	r, err := Diff(a, b)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []FileChange{
		{Path: "/etc/a", Change: "changed", Type: "file", What: []string{"content"}},
		{Path: "/etc/b", Change: "changed", Type: "file", What: []string{"mode"}},
		{Path: "/etc/c", Change: "changed", Type: "file", What: []string{"owner"}},
		{Path: "/etc/gone", Change: "removed", Type: "file"},
		{Path: "/etc/kind", Change: "changed", Type: "dir", What: []string{"type"}},
		{Path: "/etc/link", Change: "changed", Type: "symlink", What: []string{"link"}},
		{Path: "/etc/new", Change: "added", Type: "file"},
		{Path: "/var/lib/dpkg/status.d/base-files", Change: "removed", Type: "file"},
		{Path: "/var/lib/dpkg/status.d/curl", Change: "added", Type: "file"},
		{Path: "/var/lib/dpkg/status.d/libc6", Change: "changed", Type: "file", What: []string{"content"}},
	}
	if !reflect.DeepEqual(r.Files, wantFiles) {
		t.Errorf("files:\n got %+v\nwant %+v", r.Files, wantFiles)
	}
	wantPkgs := []PackageChange{
		{Name: "base-files", Change: "removed", From: "12.4"},
		{Name: "curl", Change: "added", To: "7.88.1-10"},
		{Name: "libc6", Change: "changed", From: "2.36-9", To: "2.36-10"},
	}
	if !reflect.DeepEqual(r.Packages, wantPkgs) {
		t.Errorf("packages:\n got %+v\nwant %+v", r.Packages, wantPkgs)
	}
	if r.From != mustDigest(t, a).String() || r.To != mustDigest(t, b).String() {
		t.Errorf("digests %s %s", r.From, r.To)
	}

	// An image against itself: nothing.
	same, err := Diff(a, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(same.Files) != 0 || len(same.Packages) != 0 {
		t.Errorf("self diff: %+v", same)
	}
}

func TestPackagesReadsStatusAndStatusD(t *testing.T) {
	fs := filesystem{
		"var/lib/dpkg/status":              {Path: "var/lib/dpkg/status", data: []byte(statusFile)},
		"var/lib/dpkg/status.d/x":          {Path: "var/lib/dpkg/status.d/x", data: []byte("Package: x\nVersion: 1\nArchitecture: amd64\n\nPackage: x\nVersion: 1\nArchitecture: i386\n")},
		"var/lib/dpkg/status.d/x.md5sums":  {Path: "var/lib/dpkg/status.d/x.md5sums", data: []byte("Package: no\nVersion: 1\n")},
		"var/lib/dpkg/status.d/sub/nested": {Path: "var/lib/dpkg/status.d/sub/nested", data: []byte("Package: no2\nVersion: 1\n")},
	}
	got := packages(fs)
	want := map[string]string{"tzdata": "2024a-0+deb12u1", "x": "1", "x:i386": "1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("packages %v, want %v", got, want)
	}
}

func TestFilesystemApply(t *testing.T) {
	fs := filesystem{}
	fs.apply(&scannedLayer{entries: []*fsEntry{
		{Path: "a", Type: tar.TypeDir}, {Path: "a/x", Type: tar.TypeReg},
		{Path: "b", Type: tar.TypeDir}, {Path: "b/y", Type: tar.TypeReg}, {Path: "b/y2", Type: tar.TypeReg},
		{Path: "c", Type: tar.TypeReg},
	}})
	// Layer 2: "a" becomes a file (its contents go), "b" is opaque but gets
	// a new file in the same layer, "c" is whited out.
	fs.apply(&scannedLayer{
		opaques:   []string{"b"},
		whiteouts: []string{"c"},
		entries:   []*fsEntry{{Path: "a", Type: tar.TypeReg}, {Path: "b/z", Type: tar.TypeReg}},
	})
	if got, want := fs.sortedPaths(), []string{"a", "b", "b/z"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("paths %v, want %v", got, want)
	}
	// An opaque marker at the root hides everything below.
	fs.apply(&scannedLayer{opaques: []string{""}, entries: []*fsEntry{{Path: "n", Type: tar.TypeReg}}})
	if got := fs.sortedPaths(); !reflect.DeepEqual(got, []string{"n"}) {
		t.Fatalf("after root opaque: %v", got)
	}
}
