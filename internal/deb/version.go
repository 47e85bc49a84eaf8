// Package deb is berth's Debian client: it fetches and verifies apt
// repository indexes, resolves package dependency closures, downloads and
// verifies .deb files, reads their contents without running maintainer
// scripts, and writes the dpkg metadata (status.d) that scanners expect.
package deb

import (
	"fmt"
	"strings"
)

// Version is a parsed Debian version: [epoch:]upstream[-revision].
type Version struct {
	Epoch    string // decimal digits; "0" when absent
	Upstream string
	Revision string // "" when absent
}

func (v Version) String() string {
	s := v.Upstream
	if v.Epoch != "0" && v.Epoch != "" {
		s = v.Epoch + ":" + s
	}
	if v.Revision != "" {
		s += "-" + v.Revision
	}
	return s
}

// ParseVersion parses a version strictly by Debian policy §5.6.12 (the rules
// dpkg enforces, including the ones it only warns about): the epoch is
// digits, the upstream part starts with a digit and holds only
// alphanumerics and . + ~ - :, the revision only alphanumerics and . + ~.
func ParseVersion(s string) (Version, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return Version{}, fmt.Errorf("version %q: empty", orig)
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return Version{}, fmt.Errorf("version %q: contains whitespace", orig)
	}
	v := Version{Epoch: "0"}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		ep := s[:i]
		if ep == "" {
			return Version{}, fmt.Errorf("version %q: empty epoch", orig)
		}
		if !allDigits(ep) {
			return Version{}, fmt.Errorf("version %q: epoch %q is not a number", orig, ep)
		}
		if len(strings.TrimLeft(ep, "0")) > 10 || (len(strings.TrimLeft(ep, "0")) == 10 && strings.TrimLeft(ep, "0") > "2147483647") {
			return Version{}, fmt.Errorf("version %q: epoch too big", orig)
		}
		v.Epoch = ep
		s = s[i+1:]
		if s == "" {
			return Version{}, fmt.Errorf("version %q: nothing after the epoch", orig)
		}
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		v.Revision = s[i+1:]
		s = s[:i]
		if v.Revision == "" {
			return Version{}, fmt.Errorf("version %q: empty revision", orig)
		}
	}
	v.Upstream = s
	if s == "" {
		return Version{}, fmt.Errorf("version %q: empty upstream version", orig)
	}
	if !isDigit(s[0]) {
		return Version{}, fmt.Errorf("version %q: upstream version must start with a digit", orig)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && !strings.ContainsRune(".-+~:", rune(c)) {
			return Version{}, fmt.Errorf("version %q: invalid character %q in upstream version", orig, c)
		}
	}
	for i := 0; i < len(v.Revision); i++ {
		if c := v.Revision[i]; !isAlnum(c) && !strings.ContainsRune(".+~", rune(c)) {
			return Version{}, fmt.Errorf("version %q: invalid character %q in revision", orig, c)
		}
	}
	return v, nil
}

// splitVersion splits any string into epoch/upstream/revision the way dpkg
// does after a warning-level parse error, so CompareVersions is total.
func splitVersion(s string) Version {
	s = strings.TrimSpace(s)
	v := Version{Epoch: "0"}
	if i := strings.IndexByte(s, ':'); i >= 0 && allDigits(s[:i]) && i > 0 {
		v.Epoch = s[:i]
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		v.Revision = s[i+1:]
		s = s[:i]
	}
	v.Upstream = s
	return v
}

// CompareVersions compares two Debian versions and returns -1, 0 or +1, with
// dpkg's ordering: epochs numerically, then upstream and revision with the
// alternating non-digit/digit comparison where letters sort before other
// characters and '~' before everything, even the end of the string. It never
// fails; malformed versions are compared on a best-effort split.
func CompareVersions(a, b string) int {
	va, vb := splitVersion(a), splitVersion(b)
	if c := compareNumeric(va.Epoch, vb.Epoch); c != 0 {
		return c
	}
	if c := verrevcmp(va.Upstream, vb.Upstream); c != 0 {
		return c
	}
	return verrevcmp(va.Revision, vb.Revision)
}

// compareNumeric compares two digit strings of any length as numbers.
func compareNumeric(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return sign(len(a) - len(b))
	}
	return strings.Compare(a, b)
}

// order is the sort weight of a character in a non-digit run; c == -1 is
// the end of the string (dpkg's NUL terminator), which is why a NUL byte
// inside a Go string sorts as an ordinary non-letter instead.
func order(c int) int {
	switch {
	case c == -1:
		return 0
	case c >= '0' && c <= '9':
		return 0
	case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		return c
	case c == '~':
		return -1
	}
	return c + 256
}

func verrevcmp(a, b string) int {
	at := func(s string, i int) int {
		if i < len(s) {
			return int(s[i])
		}
		return -1
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		// non-digit prefix, character by character
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := order(at(a, i)), order(at(b, j))
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		// digit run, numerically (leading zeros ignored)
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		firstDiff := 0
		for i < len(a) && j < len(b) && isDigit(a[i]) && isDigit(b[j]) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if firstDiff != 0 {
			return sign(firstDiff)
		}
	}
	return 0
}

// satisfiesVersion reports whether version v satisfies "v op want".
func satisfiesVersion(v, op, want string) bool {
	c := CompareVersions(v, want)
	switch op {
	case "":
		return true
	case "<<":
		return c < 0
	case "<=":
		return c <= 0
	case "=":
		return c == 0
	case ">=":
		return c >= 0
	case ">>":
		return c > 0
	}
	return false
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}
