package deb

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// Release is a parsed dists/<suite>/Release (or the cleartext of InRelease).
type Release struct {
	Origin, Label, Suite, Codename string
	Date, ValidUntil               time.Time // zero when absent
	Architectures, Components      []string
	AcquireByHash                  bool
	// Files are the SHA256 entries, keyed by path relative to dists/<suite>/.
	// MD5Sum/SHA1 entries are ignored: they are not collision resistant.
	Files     map[string]FileHash
	Paragraph Paragraph
}

// FileHash is one line of the Release SHA256 field.
type FileHash struct {
	Path   string
	Size   int64
	SHA256 string // lowercase hex
}

// ParseRelease parses the Release paragraph. It requires a SHA256 field
// because that is the only hash berth verifies indexes with.
func ParseRelease(data []byte) (*Release, error) {
	p, err := ParseParagraph(data)
	if err != nil {
		return nil, fmt.Errorf("Release: %w", err)
	}
	r := &Release{
		Origin:        p.Get("Origin"),
		Label:         p.Get("Label"),
		Suite:         p.Get("Suite"),
		Codename:      p.Get("Codename"),
		Architectures: strings.Fields(p.Get("Architectures")),
		Components:    strings.Fields(p.Get("Components")),
		AcquireByHash: strings.EqualFold(p.Get("Acquire-By-Hash"), "yes"),
		Files:         map[string]FileHash{},
		Paragraph:     p,
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"Date", &r.Date}, {"Valid-Until", &r.ValidUntil}} {
		v := p.Get(f.name)
		if v == "" {
			continue
		}
		t, err := parseReleaseDate(v)
		if err != nil {
			return nil, fmt.Errorf("Release: field %s: %w", f.name, err)
		}
		*f.dst = t
	}
	sums, ok := p.Lookup("SHA256")
	if !ok {
		return nil, fmt.Errorf("Release: no SHA256 field (MD5Sum/SHA1 alone are not accepted)")
	}
	for _, l := range lines(sums) {
		parts := strings.Fields(l)
		if len(parts) != 3 {
			return nil, fmt.Errorf("Release: SHA256 line %q: want \"<sha256> <size> <path>\"", truncate(l))
		}
		if !isHex(parts[0], 64) {
			return nil, fmt.Errorf("Release: SHA256 line %q: %q is not a SHA-256 hex digest", truncate(l), truncate(parts[0]))
		}
		size, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("Release: SHA256 line %q: bad size %q", truncate(l), truncate(parts[1]))
		}
		r.Files[parts[2]] = FileHash{Path: parts[2], Size: size, SHA256: strings.ToLower(parts[0])}
	}
	return r, nil
}

// parseReleaseDate accepts RFC 2822 dates as written by apt-ftparchive and
// dak ("Sat, 10 May 2025 08:50:37 UTC"); net/mail knows the UTC zone name.
func parseReleaseDate(v string) (time.Time, error) {
	t, err := mail.ParseDate(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 2822 date", truncate(v))
	}
	return t, nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
