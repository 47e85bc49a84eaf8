package deb

import (
	"fmt"
	"sort"
	"strings"
)

// Resolve returns the dependency closure of want for one architecture,
// sorted by name. want entries are package names, optionally "name=version".
//
// The rules, chosen to be predictable rather than clever:
//   - Depends and Pre-Depends are followed; Recommends, Suggests, Conflicts
//     and Breaks are not (nothing is installed over an existing system, and
//     the image gets only what was asked for).
//   - One version per package name. A name is fixed the first time it is
//     chosen, at the highest version satisfying the constraint that chose it;
//     all wanted packages are chosen before any dependency.
//   - An OR-group is satisfied by an already-chosen package if any; groups
//     that are not yet satisfied wait until every single-choice dependency
//     has been followed, so "default-mta | mail-transport-agent" reuses what
//     other packages pulled in. Otherwise the first alternative that can be
//     chosen wins.
//   - A real package beats a virtual one of the same name; among providers
//     Essential ones come first, then by Priority (required … extra), then
//     by name, then the highest version. Unversioned Provides
//     never satisfy versioned dependencies.
//   - Packages of Architecture arch and "all" are candidates; ":any" and
//     ":native" qualifiers are satisfied by either, ":<arch>" only by arch.
//
// There is no backtracking: a later constraint that the fixed version does
// not meet is an error naming both sides, not a silent search.
func (ix *Index) Resolve(want []string, arch string) ([]*Package, error) {
	r := &resolver{ix: ix, arch: arch, chosen: map[string]*Package{}, parent: map[string]string{}}
	for _, w := range want {
		if err := r.want(strings.TrimSpace(w)); err != nil {
			return nil, err
		}
	}
	for len(r.queue) > 0 || len(r.deferred) > 0 {
		if len(r.queue) > 0 {
			p := r.queue[0]
			r.queue = r.queue[1:]
			for _, field := range []struct {
				name   string
				groups [][]Dependency
			}{{"Pre-Depends", p.PreDepends}, {"Depends", p.Depends}} {
				for _, g := range field.groups {
					if len(g) > 1 && r.satisfied(g) == nil {
						r.deferred = append(r.deferred, pending{p, g})
						continue
					}
					if err := r.group(p, g); err != nil {
						return nil, err
					}
				}
			}
			continue
		}
		d := r.deferred[0]
		r.deferred = r.deferred[1:]
		if err := r.group(d.from, d.group); err != nil {
			return nil, err
		}
	}
	out := make([]*Package, 0, len(r.chosen))
	for _, p := range r.chosen {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

type pending struct {
	from  *Package
	group []Dependency
}

type resolver struct {
	ix       *Index
	arch     string
	chosen   map[string]*Package
	parent   map[string]string // who pulled a package in ("" = wanted)
	queue    []*Package
	deferred []pending
}

func (r *resolver) choose(p *Package, from string) {
	r.chosen[p.Name] = p
	r.parent[p.Name] = from
	r.queue = append(r.queue, p)
}

// want chooses one requested package.
func (r *resolver) want(w string) error {
	name, version, pinned := strings.Cut(w, "=")
	name = strings.TrimSpace(name)
	version = strings.TrimSpace(version)
	if err := checkPackageName(name); err != nil {
		return fmt.Errorf("wanted package %q: %w", w, err)
	}
	if prev, ok := r.chosen[name]; ok {
		if pinned && prev.Version != version {
			return fmt.Errorf("package %q is wanted at two versions (%s and %s)", name, prev.Version, version)
		}
		return nil
	}
	real := r.ix.Lookup(name)
	if len(real) == 0 && !pinned {
		if r.satisfied([]Dependency{{Name: name}}) != nil {
			return nil // an already wanted package provides it
		}
		var provs []*Package
		for _, pr := range r.providers(Dependency{Name: name}) {
			if r.chosen[pr.Name] == nil || r.chosen[pr.Name] == pr {
				provs = append(provs, pr)
			}
		}
		names := map[string]bool{}
		for _, p := range provs {
			names[p.Name] = true
		}
		switch len(names) {
		case 0:
			return fmt.Errorf("package %q is not in any repository (%s)", name, r.ix.repoList())
		case 1:
			if r.chosen[provs[0].Name] == nil {
				r.choose(provs[0], "")
			}
			return nil
		default:
			return fmt.Errorf("package %q is virtual and provided by %s; name one of them", name, strings.Join(sortedKeys(names), ", "))
		}
	}
	if len(real) == 0 {
		return fmt.Errorf("package %q is not in any repository (%s)", name, r.ix.repoList())
	}
	var versions []string
	for _, p := range real {
		if !r.archOK(p, "") {
			continue
		}
		if !pinned || p.Version == version || CompareVersions(p.Version, version) == 0 {
			r.choose(p, "")
			return nil
		}
		versions = append(versions, p.Version)
	}
	if len(versions) == 0 {
		return fmt.Errorf("package %q is not available for architecture %s (only %s)", name, r.arch, archList(real))
	}
	return fmt.Errorf("package %q has no version %q (available: %s)", name, version, strings.Join(versions, ", "))
}

// group satisfies one AND-item (an OR-group) of from's dependencies.
func (r *resolver) group(from *Package, g []Dependency) error {
	if r.satisfied(g) != nil {
		return nil
	}
	var why []string
	for _, d := range g {
		p, reason := r.pick(d)
		if p != nil {
			r.choose(p, from.Name)
			return nil
		}
		why = append(why, reason)
	}
	var msg string
	if len(g) == 1 {
		msg = fmt.Sprintf("%s depends on %s but %s", from.Name, g[0], why[0])
	} else {
		parts := make([]string, len(g))
		for i, d := range g {
			parts[i] = d.String()
		}
		msg = fmt.Sprintf("%s depends on %s but none can be chosen: %s", from.Name, strings.Join(parts, " | "), strings.Join(why, "; "))
	}
	if chain := r.chain(from.Name); chain != "" {
		msg += " (chain: " + chain + ")"
	}
	return fmt.Errorf("%s", msg)
}

// satisfied returns a chosen package satisfying any alternative of g.
func (r *resolver) satisfied(g []Dependency) *Package {
	for _, d := range g {
		if p := r.chosen[d.Name]; p != nil && r.archOK(p, d.Arch) && satisfiesVersion(p.Version, d.Op, d.Version) {
			return p
		}
		for _, pr := range r.ix.provides[d.Name] {
			if r.chosen[pr.pkg.Name] == pr.pkg && r.archOK(pr.pkg, d.Arch) && providesSatisfy(pr.dep, d) {
				return pr.pkg
			}
		}
	}
	return nil
}

// pick finds a new package for d, or explains why there is none.
func (r *resolver) pick(d Dependency) (*Package, string) {
	switch d.Arch {
	case "", "any", "native", r.arch:
	default:
		return nil, fmt.Sprintf("the %s qualifier cannot be met when resolving for %s", d.Arch, r.arch)
	}
	var (
		versions  []string
		conflicts []string
		otherArch []*Package
	)
	if c := r.chosen[d.Name]; c != nil {
		// one version per name: the chosen one did not satisfy d
		conflicts = append(conflicts, c.Name+" "+c.Version)
	}
	for _, p := range r.ix.Lookup(d.Name) {
		if r.chosen[d.Name] != nil {
			break
		}
		if !r.archOK(p, d.Arch) {
			otherArch = append(otherArch, p)
			continue
		}
		if !satisfiesVersion(p.Version, d.Op, d.Version) {
			versions = append(versions, p.Version)
			continue
		}
		if c := r.chosen[p.Name]; c != nil && c != p {
			conflicts = append(conflicts, c.Name+" "+c.Version)
			continue
		}
		return p, ""
	}
	for _, p := range r.providers(d) {
		if c := r.chosen[p.Name]; c != nil && c != p {
			conflicts = append(conflicts, c.Name+" "+c.Version)
			continue
		}
		return p, ""
	}
	switch {
	case len(conflicts) > 0:
		c := conflicts[0]
		name, _, _ := strings.Cut(c, " ")
		by := "wanted"
		if par := r.parent[name]; par != "" {
			by = "required by " + par
		}
		return nil, fmt.Sprintf("%s was already selected (%s)", c, by)
	case len(versions) > 0:
		return nil, fmt.Sprintf("only %s is available", strings.Join(versions, ", "))
	case len(otherArch) > 0:
		return nil, fmt.Sprintf("%s is only available for %s, not %s", d.Name, archList(otherArch), r.arch)
	case len(r.ix.provides[d.Name]) > 0:
		return nil, fmt.Sprintf("no provider of %s matches", d.Name)
	}
	return nil, fmt.Sprintf("%s is not in any repository (%s)", d.Name, r.ix.repoList())
}

// providers lists packages whose Provides satisfy d: Essential ones first,
// then by Priority (so "awk" means mawk, Priority required, as with apt,
// rather than gawk), then by name, then highest version.
func (r *resolver) providers(d Dependency) []*Package {
	var out []*Package
	for _, pr := range r.ix.provides[d.Name] {
		if r.archOK(pr.pkg, d.Arch) && providesSatisfy(pr.dep, d) {
			out = append(out, pr.pkg)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if pi, pj := priorityRank(out[i]), priorityRank(out[j]); pi != pj {
			return pi < pj
		}
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return CompareVersions(out[i].Version, out[j].Version) > 0
	})
	return out
}

func priorityRank(p *Package) int {
	if strings.EqualFold(p.Control.Get("Essential"), "yes") {
		return 0
	}
	switch strings.ToLower(p.Control.Get("Priority")) {
	case "required":
		return 1
	case "important":
		return 2
	case "standard":
		return 3
	case "optional":
		return 4
	case "extra":
		return 5
	}
	return 6
}

func providesSatisfy(prov, d Dependency) bool {
	if d.Op == "" {
		return true
	}
	return prov.Version != "" && satisfiesVersion(prov.Version, d.Op, d.Version)
}

// archOK: can p satisfy a dependency carrying qualifier q on this arch?
func (r *resolver) archOK(p *Package, q string) bool {
	if p.Architecture != r.arch && p.Architecture != "all" {
		return false
	}
	switch q {
	case "", "any", "native":
		return true
	}
	return q == r.arch
}

// chain renders how name came in: "want → dep → … → name".
func (r *resolver) chain(name string) string {
	var parts []string
	for n, guard := name, 0; n != "" && guard <= len(r.parent); guard++ {
		parts = append(parts, n)
		n = r.parent[n]
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	if len(parts) <= 1 {
		return ""
	}
	return strings.Join(parts, " → ")
}

func archList(ps []*Package) string {
	m := map[string]bool{}
	for _, p := range ps {
		m[p.Architecture] = true
	}
	return strings.Join(sortedKeys(m), ", ")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
