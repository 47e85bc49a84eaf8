package deb

import (
	"strings"
	"testing"
	"time"
)

const sampleRelease = `Origin: Debian
Label: Debian
Suite: stable
Version: 12.11
Codename: bookworm
Date: Sat, 17 May 2025 09:09:48 UTC
Valid-Until: Sat, 24 May 2025 09:09:48 UTC
Acquire-By-Hash: yes
Architectures: all amd64 arm64
Components: main contrib
Description: Debian 12.11 Released 17 May 2025
MD5Sum:
 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all
SHA256:
 d6c9c82f4e61b4662f9ba16b9ebb379c57b4943f8b7813091d1f637325ddfb79  1484322 contrib/Contents-all
 A6C9C82F4E61B4662F9BA16B9EBB379C57B4943F8B7813091D1F637325DDFB79    20092 main/binary-amd64/Packages.xz
`

func TestParseRelease(t *testing.T) {
	r, err := ParseRelease([]byte(sampleRelease))
	if err != nil {
		t.Fatal(err)
	}
	if r.Suite != "stable" || r.Codename != "bookworm" || !r.AcquireByHash {
		t.Errorf("parsed %+v", r)
	}
	if !r.ValidUntil.Equal(time.Date(2025, 5, 24, 9, 9, 48, 0, time.UTC)) {
		t.Errorf("Valid-Until = %v", r.ValidUntil)
	}
	if got := strings.Join(r.Architectures, " "); got != "all amd64 arm64" {
		t.Errorf("Architectures = %q", got)
	}
	fh, ok := r.Files["main/binary-amd64/Packages.xz"]
	if !ok || fh.Size != 20092 || fh.SHA256 != strings.ToLower("A6C9C82F4E61B4662F9BA16B9EBB379C57B4943F8B7813091D1F637325DDFB79") {
		t.Errorf("Packages.xz entry = %+v, %v", fh, ok)
	}
	if len(r.Files) != 2 {
		t.Errorf("want only the 2 SHA256 entries, got %d", len(r.Files))
	}
}

func TestParseReleaseErrors(t *testing.T) {
	cases := map[string]string{
		"Suite: x\nMD5Sum:\n 00 1 a\n":                               "no SHA256 field",
		"Suite: x\nSHA256:\n abc 1 a\n":                              "not a SHA-256",
		"Suite: x\nSHA256:\n " + strings.Repeat("0", 64) + " -5 a\n": "bad size",
		"Suite: x\nSHA256:\n " + strings.Repeat("0", 64) + " 5\n":    "want",
		"Suite: x\nDate: yesterday\nSHA256:\n":                       "Date",
		"Suite: x\nSuite: y\n":                                       "duplicate",
	}
	for in, want := range cases {
		_, err := ParseRelease([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRelease(%q) error = %v, want it to mention %q", in, err, want)
		}
	}
}

func FuzzParseRelease(f *testing.F) {
	f.Add([]byte(sampleRelease))
	f.Add([]byte("SHA256:\n"))
	f.Add([]byte("Date: Thu, 01 Jan 1970 00:00:00 +0000\nSHA256:\n " + strings.Repeat("f", 64) + " 0 x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRelease(data)
		if err != nil {
			return
		}
		for name, fh := range r.Files {
			if name != fh.Path || fh.Size < 0 || !isHex(fh.SHA256, 64) || strings.ToLower(fh.SHA256) != fh.SHA256 {
				t.Fatalf("inconsistent entry %q: %+v", name, fh)
			}
		}
		// the kept paragraph parses back to the same file list
		again, err := ParseRelease(r.Paragraph.Bytes())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", r.Paragraph.Bytes(), err)
		}
		if len(again.Files) != len(r.Files) {
			t.Fatalf("re-parse changed the file list: %d vs %d", len(again.Files), len(r.Files))
		}
	})
}
