package vuln

import (
	"fmt"
	"strings"

	"golang.org/x/mod/semver"

	"github.com/berth-dev/berth/internal/deb"
)

// query is what the database is asked for one package: an OSV ecosystem,
// the name OSV files it under, the version to test, and how versions of
// that ecosystem compare.
type query struct {
	ecosystem string
	name      string
	version   string
	compare   func(a, b string) int
	valid     func(v string) bool
}

// DebianEcosystem is the OSV ecosystem a Debian purl's distro qualifier
// names ("debian-12" or "bookworm" → "Debian:12"); no distro means Debian 12,
// the release berth builds from.
func DebianEcosystem(distro string) (string, error) {
	d := strings.ToLower(distro)
	switch {
	case d == "" || d == "bookworm":
		return "Debian:12", nil
	case d == "bullseye":
		return "Debian:11", nil
	case d == "trixie":
		return "Debian:13", nil
	}
	v, ok := strings.CutPrefix(d, "debian-")
	if !ok {
		return "", fmt.Errorf("distro %q is not Debian", distro)
	}
	if i := strings.IndexByte(v, '.'); i >= 0 {
		v = v[:i] // "debian-12.5" → Debian:12
	}
	if v == "" {
		return "", fmt.Errorf("distro %q: no release", distro)
	}
	return "Debian:" + v, nil
}

// queryFor maps a package to its OSV query; ok is false for package types
// the scanner does not match (they are counted as not scanned).
func queryFor(p Package) (query, bool, error) {
	switch p.Type {
	case "deb":
		if p.Namespace != "" && !strings.EqualFold(p.Namespace, "debian") {
			return query{}, false, nil
		}
		eco, err := DebianEcosystem(p.Qualifiers["distro"])
		if err != nil {
			return query{}, false, fmt.Errorf("%s: %w", p.Purl, err)
		}
		// Debian files advisories under the SOURCE package: upstream=SRC or
		// upstream=SRC@SRCVERSION (the source version when a binNMU or a
		// separately versioned binary differs from it).
		name, version := p.Name, p.Version
		if up := p.Qualifiers["upstream"]; up != "" {
			src, sv, hasV := strings.Cut(up, "@")
			if src != "" {
				name = src
			}
			if hasV && sv != "" {
				version = sv
			}
		}
		return query{ecosystem: eco, name: name, version: version, compare: deb.CompareVersions, valid: validDebian}, true, nil
	case "golang":
		mod := p.DisplayName()
		if mod == "stdlib" || (p.Namespace == "" && p.Name == "stdlib") {
			v := goToolchainSemver(p.Version)
			return query{ecosystem: "Go", name: "stdlib", version: v, compare: compareSemver, valid: validSemver}, true, nil
		}
		return query{ecosystem: "Go", name: mod, version: strings.TrimPrefix(p.Version, "v"), compare: compareSemver, valid: validSemver}, true, nil
	}
	return query{}, false, nil
}

func validDebian(v string) bool { _, err := deb.ParseVersion(v); return err == nil }

// OSV's Go versions have no "v"; introduced "0" is below everything.
func compareSemver(a, b string) int {
	return semver.Compare(semverOf(a), semverOf(b))
}

func semverOf(v string) string {
	if v == "0" {
		return "v0.0.0-0"
	}
	return "v" + strings.TrimPrefix(v, "v")
}

func validSemver(v string) bool { return semver.IsValid(semverOf(v)) }

// goToolchainSemver turns a Go version ("go1.22.3", "1.22.3", "1.21",
// "go1.23rc1", "1.22.3 X:boringcrypto") into the semver OSV's stdlib ranges
// use ("1.22.3", "1.21.0", "1.23.0-rc.1").
func goToolchainSemver(v string) string {
	f := strings.Fields(v)
	if len(f) == 0 {
		return ""
	}
	v = strings.TrimPrefix(f[0], "go")
	if strings.Contains(v, "-") {
		return v // already semver: "1.26.0-rc.1"
	}
	pre := ""
	for _, tag := range []string{"rc", "beta", "alpha"} {
		if i := strings.Index(v, tag); i > 0 {
			pre = "-" + tag + "." + v[i+len(tag):]
			v = v[:i]
			break
		}
	}
	switch strings.Count(v, ".") {
	case 0:
		v += ".0.0"
	case 1:
		v += ".0"
	}
	return v + pre
}

// Verdict is the outcome of testing one affected entry against a version.
type Verdict struct {
	Affected bool
	Fixed    string // the first fixed version above the installed one, "" if none (unfixed)
}

// match tests a package version against one OSV affected entry: listed in
// versions[], or inside a range of the ecosystem's type (ECOSYSTEM for
// Debian, SEMVER for Go; GIT ranges need a commit and are skipped).
func match(a Affected, q query) Verdict {
	var v Verdict
	for _, lv := range a.Versions {
		if lv == q.version || (q.compare(lv, q.version) == 0 && q.valid(lv)) {
			v.Affected = true
		}
	}
	for _, r := range a.Ranges {
		if r.Type == "GIT" {
			continue
		}
		in, fixed := inRange(r.Events, q)
		if in {
			v.Affected = true
			if fixed != "" && (v.Fixed == "" || q.compare(fixed, v.Fixed) < 0) {
				v.Fixed = fixed
			}
		}
	}
	if v.Affected && v.Fixed == "" {
		v.Fixed = firstFixedAbove(a, q)
	}
	return v
}

// inRange applies OSV's evaluation: the version is affected when some
// introduced ≤ version and no fixed/limit ≤ version (or last_affected <
// version) follows that introduced. Events are taken in version order.
func inRange(events []Event, q query) (bool, string) {
	type ev struct {
		kind, ver string
	}
	var evs []ev
	for _, e := range events {
		switch {
		case e.Introduced != "":
			evs = append(evs, ev{"introduced", e.Introduced})
		case e.Fixed != "":
			evs = append(evs, ev{"fixed", e.Fixed})
		case e.LastAffected != "":
			evs = append(evs, ev{"last_affected", e.LastAffected})
		case e.Limit != "":
			evs = append(evs, ev{"limit", e.Limit})
		}
	}
	cmp := func(a, b string) int {
		switch {
		case a == "0" && b == "0":
			return 0
		case a == "0":
			return -1
		case b == "0":
			return 1
		}
		return q.compare(a, b)
	}
	// stable insertion sort by version (a handful of events)
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && cmp(evs[j].ver, evs[j-1].ver) < 0; j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
	affected := false
	fixed := ""
	for _, e := range evs {
		c := cmp(q.version, e.ver)
		switch e.kind {
		case "introduced":
			if c >= 0 {
				affected = true
			}
		case "fixed", "limit":
			if c >= 0 {
				affected = false
			} else if affected && fixed == "" && e.kind == "fixed" {
				fixed = e.ver
			}
		case "last_affected":
			if c > 0 {
				affected = false
			}
		}
		if c < 0 && e.kind == "introduced" && !affected {
			break
		}
	}
	if !affected {
		return false, ""
	}
	return true, fixed
}

// firstFixedAbove finds a fixed version above the installed one in any range
// (for a version listed in versions[] only).
func firstFixedAbove(a Affected, q query) string {
	best := ""
	for _, r := range a.Ranges {
		for _, e := range r.Events {
			if e.Fixed != "" && q.compare(e.Fixed, q.version) > 0 && (best == "" || q.compare(e.Fixed, best) < 0) {
				best = e.Fixed
			}
		}
	}
	return best
}
