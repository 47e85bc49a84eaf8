package deb

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

const samplePackages = `Package: nginx-light
Source: nginx
Version: 1.22.1-9+deb12u11
Architecture: all
Maintainer: Debian Nginx Maintainers <pkg-nginx-maintainers@alioth-lists.debian.net>
Installed-Size: 47
Depends: nginx (<< 1.22.1-9+deb12u11.1~), nginx (>= 1.22.1-9+deb12u11), libnginx-mod-http-echo
Section: oldlibs
Priority: optional
Description: nginx web/proxy server (transitional package)
 This is a transitional package.
Filename: pool/main/n/nginx/nginx-light_1.22.1-9+deb12u11_all.deb
Size: 81788
SHA256: 0000000000000000000000000000000000000000000000000000000000000001

Package: libc6
Source: glibc (2.36-9+deb12u14)
Version: 2.36-9+deb12u14
Architecture: amd64
Multi-Arch: same
Depends: libgcc-s1
Pre-Depends: debconf (>= 0.5) | debconf-2.0
Provides: libc6-x86-64 (= 2.36-9+deb12u14), glibc
Filename: pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb
Size: 2759000
SHA256: 00000000000000000000000000000000000000000000000000000000000000AB
`

func TestParsePackages(t *testing.T) {
	pkgs, err := ParsePackages(strings.NewReader(samplePackages), "bookworm")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 {
		t.Fatalf("got %d packages", len(pkgs))
	}
	ng := pkgs[0]
	if ng.Name != "nginx-light" || ng.Source != "nginx" || ng.Architecture != "all" || ng.Size != 81788 || ng.Repo != "bookworm" {
		t.Errorf("nginx-light parsed as %+v", ng)
	}
	wantDeps := [][]Dependency{
		{{Name: "nginx", Op: "<<", Version: "1.22.1-9+deb12u11.1~"}},
		{{Name: "nginx", Op: ">=", Version: "1.22.1-9+deb12u11"}},
		{{Name: "libnginx-mod-http-echo"}},
	}
	if !reflect.DeepEqual(ng.Depends, wantDeps) {
		t.Errorf("Depends = %+v", ng.Depends)
	}
	libc := pkgs[1]
	if libc.Source != "glibc" || libc.MultiArch != "same" || libc.SHA256 != "00000000000000000000000000000000000000000000000000000000000000ab" {
		t.Errorf("libc6 parsed as %+v", libc)
	}
	wantPre := [][]Dependency{{{Name: "debconf", Op: ">=", Version: "0.5"}, {Name: "debconf-2.0"}}}
	if !reflect.DeepEqual(libc.PreDepends, wantPre) {
		t.Errorf("Pre-Depends = %+v", libc.PreDepends)
	}
	wantProv := []Dependency{{Name: "libc6-x86-64", Op: "=", Version: "2.36-9+deb12u14"}, {Name: "glibc"}}
	if !reflect.DeepEqual(libc.Provides, wantProv) {
		t.Errorf("Provides = %+v", libc.Provides)
	}
	if libc.Control.Get("Multi-Arch") != "same" {
		t.Errorf("Control paragraph not kept")
	}
}

func TestParseRelations(t *testing.T) {
	got, err := ParseRelations("python3:any (>= 3.11~), foo [amd64 i386] <!nocheck> | bar (> 1) [!arm64], baz (<2),")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]Dependency{
		{{Name: "python3", Arch: "any", Op: ">=", Version: "3.11~"}},
		{{Name: "foo"}, {Name: "bar", Op: ">=", Version: "1"}},
		{{Name: "baz", Op: "<=", Version: "2"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"foo (>= 1", "foo (~ 1)", "Foo", "foo (>= x1)", "foo:", "foo (>= 1) bar", "a"} {
		if _, err := ParseRelations(bad); err == nil {
			t.Errorf("ParseRelations(%q) accepted", bad)
		}
	}
}

func TestParsePackagesErrors(t *testing.T) {
	base := "Package: a1\nVersion: 1.0\nArchitecture: amd64\nFilename: pool/a.deb\nSize: 3\nSHA256: " + strings.Repeat("0", 64) + "\n"
	cases := map[string]string{
		strings.Replace(base, "Package: a1\n", "", 1):                              "without a Package field",
		strings.Replace(base, "Version: 1.0", "Version: x", 1):                     "must start with a digit",
		strings.Replace(base, "Size: 3", "Size: -1", 1):                            "bad Size",
		strings.Replace(base, "SHA256: "+strings.Repeat("0", 64), "SHA256: 12", 1): "not a SHA-256",
		strings.Replace(base, "Filename: pool/a.deb\n", "", 1):                     "no Filename",
		base + "Provides: xx | yy\n":                                               "alternatives",
		base + "Provides: xx (>= 1)\n":                                             "only \"=\"",
		base + "Depends: a (>= 1\n":                                                "Depends",
	}
	for in, want := range cases {
		_, err := ParsePackages(strings.NewReader(in), "r")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to mention %q\ninput:\n%s", err, want, in)
		}
	}
}

func FuzzParsePackages(f *testing.F) {
	f.Add([]byte(samplePackages))
	f.Add([]byte("Package: a\n\n\n"))
	f.Add([]byte("Package: ab\nVersion: 1:2-3\nArchitecture: all\nFilename: x\nSize: 1\nSHA256: " + strings.Repeat("a", 64) + "\nDepends: b:any (>= 1) | c, d\nProvides: e (= 2)\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, err := ParsePackages(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		for _, p := range pkgs {
			// whatever parses is internally consistent: valid version, names
			// and a control paragraph that parses back to the same package
			if _, err := ParseVersion(p.Version); err != nil {
				t.Fatalf("accepted bad version %q", p.Version)
			}
			again, err := ParsePackages(bytes.NewReader(p.Control.Bytes()), "fuzz")
			if err != nil || len(again) != 1 {
				t.Fatalf("re-parsing %q: %v (%d packages)", p.Control.Bytes(), err, len(again))
			}
			if !reflect.DeepEqual(again[0].Depends, p.Depends) || again[0].Version != p.Version || again[0].Name != p.Name {
				t.Fatalf("round trip changed the package: %+v vs %+v", again[0], p)
			}
		}
	})
}
