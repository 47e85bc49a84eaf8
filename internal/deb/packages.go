package deb

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Package is one binary package record from a Packages index.
type Package struct {
	Name, Version, Architecture, Filename, SHA256 string
	Size                                          int64
	Depends, PreDepends                           [][]Dependency // AND of OR-groups
	Provides                                      []Dependency
	Source                                        string // source package name (Name when the field is absent)
	MultiArch                                     string // "", "same", "foreign", "allowed"
	Repo                                          string // Repository.Name it came from
	Control                                       Paragraph
}

func (p *Package) String() string { return p.Name + " " + p.Version + " (" + p.Architecture + ")" }

// Dependency is one alternative of a relationship field.
type Dependency struct {
	Name    string
	Op      string // "", "<<", "<=", "=", ">=", ">>"
	Version string
	Arch    string // from a name:arch qualifier, e.g. "any"; "" when unqualified
}

func (d Dependency) String() string {
	s := d.Name
	if d.Arch != "" {
		s += ":" + d.Arch
	}
	if d.Op != "" {
		s += " (" + d.Op + " " + d.Version + ")"
	}
	return s
}

// ParsePackages parses a Packages index. Every record must carry Package,
// Version, Architecture, Filename, Size and SHA256, since berth downloads and
// verifies what it resolves. repo is stored in Package.Repo.
func ParsePackages(r io.Reader, repo string) ([]*Package, error) {
	var out []*Package
	err := ParseParagraphs(r, func(p Paragraph) error {
		pkg, err := packageFromParagraph(p, repo)
		if err != nil {
			return err
		}
		out = append(out, pkg)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func packageFromParagraph(p Paragraph, repo string) (*Package, error) {
	pkg := &Package{
		Name:         p.Get("Package"),
		Version:      p.Get("Version"),
		Architecture: p.Get("Architecture"),
		Filename:     p.Get("Filename"),
		SHA256:       strings.ToLower(p.Get("SHA256")),
		MultiArch:    p.Get("Multi-Arch"),
		Repo:         repo,
		Control:      p,
	}
	where := fmt.Sprintf("package %q", pkg.Name)
	if pkg.Name == "" {
		return nil, fmt.Errorf("record without a Package field (fields: %s)", fieldNames(p))
	}
	if err := checkPackageName(pkg.Name); err != nil {
		return nil, err
	}
	if pkg.Version == "" {
		return nil, fmt.Errorf("%s: no Version field", where)
	}
	if _, err := ParseVersion(pkg.Version); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	where = fmt.Sprintf("package %s %s", pkg.Name, pkg.Version)
	if pkg.Architecture == "" || strings.ContainsAny(pkg.Architecture, " \t\n") {
		return nil, fmt.Errorf("%s: bad Architecture %q", where, truncate(pkg.Architecture))
	}
	if pkg.Filename == "" {
		return nil, fmt.Errorf("%s: no Filename field", where)
	}
	if !isHex(pkg.SHA256, 64) {
		return nil, fmt.Errorf("%s: SHA256 %q is not a SHA-256 hex digest", where, truncate(pkg.SHA256))
	}
	size, err := strconv.ParseInt(p.Get("Size"), 10, 64)
	if err != nil || size < 0 {
		return nil, fmt.Errorf("%s: bad Size %q", where, truncate(p.Get("Size")))
	}
	pkg.Size = size
	pkg.Source = pkg.Name
	if src := p.Get("Source"); src != "" {
		// "Source: name (version)" when the source version differs
		pkg.Source = strings.Fields(src)[0]
	}
	if pkg.Depends, err = ParseRelations(p.Get("Depends")); err != nil {
		return nil, fmt.Errorf("%s: Depends: %w", where, err)
	}
	if pkg.PreDepends, err = ParseRelations(p.Get("Pre-Depends")); err != nil {
		return nil, fmt.Errorf("%s: Pre-Depends: %w", where, err)
	}
	prov, err := ParseRelations(p.Get("Provides"))
	if err != nil {
		return nil, fmt.Errorf("%s: Provides: %w", where, err)
	}
	for _, g := range prov {
		if len(g) != 1 {
			return nil, fmt.Errorf("%s: Provides: alternatives (|) are not allowed", where)
		}
		if g[0].Op != "" && g[0].Op != "=" {
			return nil, fmt.Errorf("%s: Provides: %s: only \"=\" versions are allowed", where, g[0])
		}
		pkg.Provides = append(pkg.Provides, g[0])
	}
	return pkg, nil
}

// ParseRelations parses a relationship field such as Depends:
// "libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, python3:any".
// Architecture restrictions ("[amd64]") and build profiles ("<!nocheck>"),
// which only belong in source packages, are accepted and ignored.
// The deprecated "<" and ">" mean "<=" and ">=" as in dpkg.
func ParseRelations(s string) ([][]Dependency, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out [][]Dependency
	for _, group := range strings.Split(s, ",") {
		if strings.TrimSpace(group) == "" {
			// dpkg tolerates a trailing comma; an empty middle item is an error
			continue
		}
		var alts []Dependency
		for _, alt := range strings.Split(group, "|") {
			d, err := parseDependency(alt)
			if err != nil {
				return nil, err
			}
			alts = append(alts, d)
		}
		out = append(out, alts)
	}
	return out, nil
}

func parseDependency(s string) (Dependency, error) {
	orig := strings.TrimSpace(s)
	var d Dependency
	name, rest := orig, ""
	if i := strings.IndexByte(orig, '('); i >= 0 {
		name = orig[:i]
		j := strings.IndexByte(orig[i:], ')')
		if j < 0 {
			return d, fmt.Errorf("%q: missing ')'", truncate(orig))
		}
		cons := strings.TrimSpace(orig[i+1 : i+j])
		rest = orig[i+j+1:]
		op := ""
		for _, o := range []string{"<<", "<=", ">=", ">>", "=", "<", ">"} {
			if strings.HasPrefix(cons, o) {
				op = o
				break
			}
		}
		if op == "" {
			return d, fmt.Errorf("%q: version constraint needs one of << <= = >= >>", truncate(orig))
		}
		ver := strings.TrimSpace(cons[len(op):])
		switch op {
		case "<":
			op = "<="
		case ">":
			op = ">="
		}
		if _, err := ParseVersion(ver); err != nil {
			return d, fmt.Errorf("%q: %w", truncate(orig), err)
		}
		d.Op, d.Version = op, ver
	}
	// arch restrictions and build profiles may follow the name or the constraint
	name = strings.TrimSpace(stripBracketed(stripBracketed(name, '[', ']'), '<', '>'))
	if strings.TrimSpace(stripBracketed(stripBracketed(rest, '[', ']'), '<', '>')) != "" {
		return d, fmt.Errorf("%q: unexpected text after the version constraint", truncate(orig))
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		d.Arch = name[i+1:]
		name = name[:i]
		if d.Arch == "" || strings.ContainsAny(d.Arch, " \t:") {
			return d, fmt.Errorf("%q: bad architecture qualifier", truncate(orig))
		}
	}
	if err := checkPackageName(name); err != nil {
		return d, fmt.Errorf("%q: %w", truncate(orig), err)
	}
	d.Name = name
	return d, nil
}

// stripBracketed removes every "open ... close" section (arch lists, build
// profiles); an unclosed one is left for the name check to reject.
func stripBracketed(s string, open, close byte) string {
	for {
		i := strings.IndexByte(s, open)
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i:], close)
		if j < 0 {
			return s
		}
		s = s[:i] + " " + s[i+j+1:]
	}
}

// checkPackageName applies Debian policy §5.6.1: lowercase letters, digits,
// + - . , at least two characters, starting alphanumeric.
func checkPackageName(n string) error {
	if len(n) < 2 {
		return fmt.Errorf("package name %q: too short", n)
	}
	if !isDigit(n[0]) && !(n[0] >= 'a' && n[0] <= 'z') {
		return fmt.Errorf("package name %q: must start with a lowercase letter or digit", truncate(n))
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !isDigit(c) && !(c >= 'a' && c <= 'z') && c != '+' && c != '-' && c != '.' {
			return fmt.Errorf("package name %q: invalid character %q", truncate(n), c)
		}
	}
	return nil
}

func fieldNames(p Paragraph) string {
	var names []string
	for _, f := range p {
		names = append(names, f.Name)
		if len(names) == 5 {
			names = append(names, "…")
			break
		}
	}
	return strings.Join(names, ", ")
}
