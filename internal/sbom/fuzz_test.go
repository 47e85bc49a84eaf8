package sbom

import (
	"bytes"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/deb"
)

func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"glibc", "openssl (3.0.11-1~deb12u1)", "x (", "x ()", " a  (1) ", "a (1) b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, version, err := ParseSource(s)
		if err != nil {
			return
		}
		if name == "" || strings.ContainsAny(name, "() \t\n") || strings.ContainsAny(version, "() \t\n") {
			t.Fatalf("ParseSource(%q) = %q, %q", s, name, version)
		}
	})
}

func FuzzLicenses(f *testing.F) {
	f.Add([]byte(dep5))
	f.Add([]byte("Format: dep5\nLicense: GPL-2+ with OpenSSL exception, or MIT\n"))
	f.Add([]byte("free form\nLicense: GPL\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, l := range Licenses(data) {
			if id := strings.TrimPrefix(l, "LicenseRef-"); id == "" || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-+") != "" {
				t.Fatalf("licence %q is not an SPDX ID", l)
			}
		}
	})
}

func FuzzStatusPackage(f *testing.F) {
	f.Add([]byte("Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nArchitecture: amd64\nSource: glibc (2.36-9)\n"))
	f.Add([]byte("Package: x\nStatus: deinstall ok config-files\nVersion: 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = deb.ParseParagraphs(bytes.NewReader(data), func(p deb.Paragraph) error {
			pkg, ok, err := statusPackage(p)
			if err != nil || !ok {
				return nil
			}
			purl := DebPURL(Distro{ID: "debian", VersionID: "12"}, pkg)
			if pkg.Name == "" || pkg.Version == "" || strings.ContainsAny(purl, " \t\n") {
				t.Fatalf("package %+v, purl %q", pkg, purl)
			}
			return nil
		})
	})
}
