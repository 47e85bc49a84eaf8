package sbom

import (
	"archive/tar"
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestScanFindsDebsGoModulesAndFiles(t *testing.T) {
	inv, err := Scan(testImage(t), "example/app")
	if err != nil {
		t.Fatal(err)
	}
	if inv.Distro != (Distro{ID: "debian", VersionID: "12"}) {
		t.Errorf("distro %+v", inv.Distro)
	}
	debs := map[string]Package{}
	var golang []Package
	for _, p := range inv.Packages {
		if p.Kind == KindDeb {
			debs[p.Name] = p
		} else {
			golang = append(golang, p)
		}
	}
	wantPURL := map[string]string{
		"libc6":      "pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&upstream=glibc&distro=debian-12",
		"base-files": "pkg:deb/debian/base-files@12.4+deb12u5?arch=amd64&distro=debian-12",
		"libssl3":    "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl%403.0.11-1~deb12u1&distro=debian-12",
		"tzdata":     "pkg:deb/debian/tzdata@2024a-0+deb12u1?arch=all&distro=debian-12",
	}
	if len(debs) != len(wantPURL) {
		t.Errorf("debs %v, want exactly %v (a deinstalled and a whited-out package must not count)", keys(debs), keys(wantPURL))
	}
	for n, want := range wantPURL {
		if got := debs[n].PURL; got != want {
			t.Errorf("%s purl\n got %s\nwant %s", n, got, want)
		}
	}
	if got := debs["libc6"].Licenses; !slices.Equal(got, []string{"Artistic-1.0-Perl", "GPL-2.0-or-later", "LGPL-2.1-or-later"}) {
		t.Errorf("libc6 licences %v", got)
	}
	if got := debs["libssl3"].Licenses; !slices.Equal(got, []string{"Apache-2.0"}) {
		t.Errorf("libssl3 licences (doc dir linked to openssl's) %v", got)
	}
	if got := debs["base-files"].Licenses; got != nil {
		t.Errorf("base-files has a free-form copyright file: licences %v, want none (NOASSERTION)", got)
	}
	if debs["libssl3"].Source != "openssl" || debs["libssl3"].SourceVersion != "3.0.11-1~deb12u1" || debs["libc6"].Component() != "glibc" || debs["tzdata"].Component() != "tzdata" {
		t.Errorf("sources: %+v %+v", debs["libssl3"], debs["libc6"])
	}

	bi, err := buildinfo.Read(bytes.NewReader(goBinary(t)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"pkg:golang/stdlib@" + strings.TrimPrefix(bi.GoVersion, "go"): true}
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		want[GoPURL(d.Path, d.Version)] = true
	}
	got := map[string]bool{}
	for _, p := range golang {
		if p.Location != "/app/goapp" {
			t.Errorf("%s found at %s, want /app/goapp only (a symlink is never read)", p.PURL, p.Location)
		}
		if !p.Main {
			got[p.PURL] = true
		}
	}
	if len(want) < 2 || !mapsEqual(got, want) {
		t.Errorf("go packages\n got %v\nwant %v", keys(got), keys(want))
	}

	if len(inv.Files) != 1 || inv.Files[0].Path != "/app/static/index.html" {
		t.Fatalf("files %+v, want only the upper /app/static/index.html", inv.Files)
	}
	s256, s1 := sha256.Sum256([]byte("<h1>hello</h1>\n")), sha1.Sum([]byte("<h1>hello</h1>\n"))
	if f := inv.Files[0]; f.SHA256 != hex.EncodeToString(s256[:]) || f.SHA1 != hex.EncodeToString(s1[:]) || f.Size != 15 {
		t.Errorf("file %+v", f)
	}
}

func TestScanRejectsBadStatusData(t *testing.T) {
	for name, status := range map[string]string{
		"no version":   "Package: x\nArchitecture: amd64\n",
		"bad source":   "Package: x\nVersion: 1\nSource: y (1\n",
		"not deb822":   "Package x\n",
		"no package":   "Version: 1\n",
		"space in ver": "Package: x\nVersion: 1 2\n",
	} {
		img := imageOf(t, kindLayer{"debs", []entry{reg("var/lib/dpkg/status.d/x", status)}})
		_, err := Scan(img, "bad")
		if err == nil || !strings.Contains(err.Error(), "/var/lib/dpkg/status.d/x") {
			t.Errorf("%s: error %v, want one naming the status file", name, err)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func mapsEqual(a, b map[string]bool) bool {
	return slices.Equal(keys(a), keys(b))
}

func TestScanCachedReadsTheImageOnce(t *testing.T) {
	dir := t.TempDir()
	img := testImage(t)
	a, err := ScanCached(img, "one", dir)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("cache dir holds %d entries", len(entries))
	}
	// A cached entry is used: prove it by changing it.
	p := filepath.Join(dir, entries[0].Name())
	raw, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(raw, []byte(`"libc6"`), []byte(`"libc7"`), 1), 0o644)
	b, err := ScanCached(img, "two", dir)
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "two" || len(b.Packages) != len(a.Packages) || !slices.ContainsFunc(b.Packages, func(p Package) bool { return p.Name == "libc7" }) {
		t.Errorf("second scan did not come from the cache: %+v", b.Packages)
	}
	// A corrupt entry is scanned again.
	os.WriteFile(p, []byte("{"), 0o644)
	c, err := ScanCached(img, "three", dir)
	if err != nil || len(c.Packages) != len(a.Packages) || slices.ContainsFunc(c.Packages, func(p Package) bool { return p.Name == "libc7" }) {
		t.Errorf("corrupt cache entry: %v %+v", err, c)
	}
}

// TestScanOverlaySemantics: an opaque directory hides the lower layers'
// contents (not its own layer's), a file replacing a directory hides what
// was below it, and a lower status record under either is not reported.
func TestScanOverlaySemantics(t *testing.T) {
	img := imageOf(t,
		kindLayer{"debs", []entry{
			reg("var/lib/dpkg/status.d/old", "Package: old\nVersion: 1\nArchitecture: all\n"),
			reg("usr/share/doc/x/copyright", "Format: copyright-format/1.0\n\nFiles: *\nLicense: MIT\n"),
		}},
		kindLayer{"debs", []entry{
			{path: "var/lib/dpkg/status.d/", typ: tar.TypeDir, mode: 0o755},
			{path: "var/lib/dpkg/status.d/.wh..wh..opq", typ: tar.TypeReg},
			reg("var/lib/dpkg/status.d/new", "Package: new\nVersion: 2\nArchitecture: all\n"),
			reg("usr/share/doc/x", "not a directory any more"),
		}},
	)
	inv, err := Scan(img, "overlay")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range inv.Packages {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"new"}) {
		t.Errorf("packages %v, want [new] (old is under an opaque directory)", names)
	}
}
