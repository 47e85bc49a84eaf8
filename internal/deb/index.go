package deb

import (
	"sort"
	"strings"
)

// Index holds the packages of one or more repositories, looked up by name
// and by what they provide. Repository order is priority order: when two
// repositories carry the very same name/version/architecture, the first wins.
type Index struct {
	byName   map[string][]*Package // highest version first
	provides map[string][]provider // virtual name → providers
	seen     map[string]bool       // name/version/arch already added
	repos    []string
}

type provider struct {
	pkg *Package
	dep Dependency // the Provides entry (Version set for versioned provides)
}

// NewIndex returns an empty index; Fetch fills one, tests may use Add.
func NewIndex() *Index {
	return &Index{
		byName:   map[string][]*Package{},
		provides: map[string][]provider{},
		seen:     map[string]bool{},
	}
}

// Add inserts packages of the named repository (recorded for error messages).
func (ix *Index) Add(repo string, pkgs ...*Package) { ix.addRepo(repo, pkgs) }

func (ix *Index) addRepo(repo string, pkgs []*Package) {
	known := false
	for _, r := range ix.repos {
		known = known || r == repo
	}
	if !known {
		ix.repos = append(ix.repos, repo)
	}
	touched := map[string]bool{}
	for _, p := range pkgs {
		key := p.Name + "\x00" + p.Version + "\x00" + p.Architecture
		if ix.seen[key] {
			continue // binary-all duplicates binary-<arch>; earlier repos win
		}
		ix.seen[key] = true
		ix.byName[p.Name] = append(ix.byName[p.Name], p)
		touched[p.Name] = true
		for _, d := range p.Provides {
			ix.provides[d.Name] = append(ix.provides[d.Name], provider{pkg: p, dep: d})
		}
	}
	for name := range touched {
		list := ix.byName[name]
		// stable: among equal versions the earlier repository stays first
		sort.SliceStable(list, func(i, j int) bool {
			if c := CompareVersions(list[i].Version, list[j].Version); c != 0 {
				return c > 0
			}
			return list[i].Architecture < list[j].Architecture
		})
	}
}

// Lookup returns every package with that name, highest version first.
func (ix *Index) Lookup(name string) []*Package { return ix.byName[name] }

// Len is the number of distinct packages (name, version, architecture).
func (ix *Index) Len() int { return len(ix.seen) }

// Repos names the repositories the index was built from, in priority order.
func (ix *Index) Repos() []string { return append([]string(nil), ix.repos...) }

func (ix *Index) repoList() string { return strings.Join(ix.repos, ", ") }
