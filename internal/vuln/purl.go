package vuln

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Package is one installed package, named by its purl (the contract with
// the SBOM generator): pkg:deb/debian/NAME@VERSION?arch=…&upstream=SRC%40SRCVER&distro=debian-12,
// pkg:golang/MODULE@VERSION, pkg:golang/stdlib@1.22.3.
type Package struct {
	Purl       string            `json:"purl"`
	Type       string            `json:"-"`
	Namespace  string            `json:"-"`
	Name       string            `json:"-"`
	Version    string            `json:"-"`
	Qualifiers map[string]string `json:"-"`
}

// ParsePurl parses a package URL (github.com/package-url/purl-spec):
// pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS#SUBPATH, percent-decoded.
func ParsePurl(s string) (Package, error) {
	p := Package{Purl: s, Qualifiers: map[string]string{}}
	rest, ok := strings.CutPrefix(s, "pkg:")
	if !ok {
		return p, fmt.Errorf("purl %q: does not start with pkg:", s)
	}
	rest = strings.TrimLeft(rest, "/")
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		q := rest[i+1:]
		rest = rest[:i]
		for _, kv := range strings.Split(q, "&") {
			if kv == "" {
				continue
			}
			k, v, _ := strings.Cut(kv, "=")
			dv, err := url.PathUnescape(v)
			if err != nil {
				return p, fmt.Errorf("purl %q: qualifier %s: %v", s, k, err)
			}
			p.Qualifiers[strings.ToLower(k)] = dv
		}
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		v, err := url.PathUnescape(rest[i+1:])
		if err != nil {
			return p, fmt.Errorf("purl %q: version: %v", s, err)
		}
		p.Version = v
		rest = rest[:i]
	}
	typ, path, ok := strings.Cut(rest, "/")
	if !ok || typ == "" || path == "" {
		return p, fmt.Errorf("purl %q: want pkg:TYPE/[NAMESPACE/]NAME", s)
	}
	p.Type = strings.ToLower(typ)
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, seg := range segs {
		d, err := url.PathUnescape(seg)
		if err != nil {
			return p, fmt.Errorf("purl %q: %v", s, err)
		}
		segs[i] = d
	}
	p.Name = segs[len(segs)-1]
	p.Namespace = strings.Join(segs[:len(segs)-1], "/")
	if p.Name == "" {
		return p, fmt.Errorf("purl %q: empty name", s)
	}
	return p, nil
}

// String renders the purl again (qualifiers sorted, as the spec's
// canonical form).
func (p Package) String() string {
	var b strings.Builder
	b.WriteString("pkg:" + p.Type + "/")
	if p.Namespace != "" {
		b.WriteString(escapePath(p.Namespace) + "/")
	}
	b.WriteString(escapePart(p.Name))
	if p.Version != "" {
		b.WriteString("@" + escapePart(p.Version))
	}
	keys := make([]string, 0, len(p.Qualifiers))
	for k := range p.Qualifiers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(escapePart(k) + "=" + escapePart(p.Qualifiers[k]))
	}
	return b.String()
}

func escapePath(ns string) string {
	segs := strings.Split(ns, "/")
	for i, s := range segs {
		segs[i] = escapePart(s)
	}
	return strings.Join(segs, "/")
}

// escapePart percent-encodes what would end a purl component: url.PathEscape
// plus '@' (the version separator) and '&' (between qualifiers).
var purlEscaper = strings.NewReplacer("@", "%40", "&", "%26", "=", "%3D")

func escapePart(s string) string { return purlEscaper.Replace(url.PathEscape(s)) }

// DisplayName is the package name as a person reads it: the Go module path,
// the Debian binary package name.
func (p Package) DisplayName() string {
	if p.Type == "golang" && p.Namespace != "" {
		return p.Namespace + "/" + p.Name
	}
	return p.Name
}

// sameIdentity reports whether a (from a VEX product) names b: same type,
// namespace and name, and the same version when a has one; qualifiers in a
// must match b's.
func sameIdentity(a, b Package) bool {
	if a.Type != b.Type || !strings.EqualFold(a.Namespace, b.Namespace) || a.Name != b.Name {
		return false
	}
	if a.Version != "" && a.Version != b.Version {
		return false
	}
	for k, v := range a.Qualifiers {
		if b.Qualifiers[k] != v {
			return false
		}
	}
	return true
}
