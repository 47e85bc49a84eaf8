package auth

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/berth-dev/berth/internal/registry/names"
)

// Rule grants actions on the repositories matching any of its patterns to
// the listed users and to the members of the listed groups.
type Rule struct {
	// Repositories are patterns: each '/'-separated segment is matched with
	// path.Match; a "**" segment matches any number of segments (one or more
	// at the end, so "team/**" matches everything below team/ and "**" alone
	// matches every repository; zero or more elsewhere).
	Repositories []string `json:"repositories"`
	// Users are user names; "*" is any authenticated user and "anonymous" a
	// request without credentials.
	Users []string `json:"users"`
	// Groups are names from Config.Groups.
	Groups []string `json:"groups"`
	// Actions are "pull", "push", "delete" or "*" for all three.
	Actions []string `json:"actions"`
}

// anyUser in Rule.Users matches every authenticated user.
const anyUser = "*"

// compiledRule is a validated Rule with its principals resolved.
type compiledRule struct {
	patterns  [][]string      // split patterns
	users     map[string]bool // explicit users, plus group members
	anyAuthed bool            // "*"
	anonymous bool            // "anonymous"
	actions   map[string]bool // concrete actions, "*" expanded
}

// ruleSet decides which actions a user has on a repository.
type ruleSet struct {
	rules []compiledRule
	// openToAuthenticated is the single-team setup: no rules configured, so
	// every authenticated user may do everything.
	openToAuthenticated bool
}

// compileRules validates the rules and groups of cfg. Errors name the
// offending field, e.g. "rules[2].actions[0]".
func compileRules(cfg Config) (*ruleSet, error) {
	groups := map[string][]string{}
	names := make([]string, 0, len(cfg.Groups))
	for g := range cfg.Groups {
		names = append(names, g)
	}
	sort.Strings(names) // report errors deterministically
	for _, g := range names {
		if g == "" {
			return nil, fmt.Errorf("groups: a group name is empty")
		}
		members := cfg.Groups[g]
		for i, u := range members {
			if u == "" || u == anyUser || u == AnonymousUser {
				return nil, fmt.Errorf("groups.%s[%d]: %q is not a user name", g, i, u)
			}
		}
		groups[g] = members
	}

	rs := &ruleSet{openToAuthenticated: len(cfg.Rules) == 0}
	for i, r := range cfg.Rules {
		c, err := compileRule(r, groups)
		if err != nil {
			return nil, fmt.Errorf("rules[%d].%w", i, err)
		}
		rs.rules = append(rs.rules, c)
	}
	if cfg.AnonymousPull {
		rs.rules = append(rs.rules, compiledRule{
			patterns:  [][]string{{"**"}},
			users:     map[string]bool{},
			anonymous: true,
			actions:   map[string]bool{ActionPull: true},
		})
	}
	return rs, nil
}

// compileRule validates one rule; errors start with the field name so the
// caller can prefix "rules[i].".
func compileRule(r Rule, groups map[string][]string) (compiledRule, error) {
	c := compiledRule{users: map[string]bool{}, actions: map[string]bool{}}
	if len(r.Repositories) == 0 {
		return c, fmt.Errorf("repositories: empty; use [\"**\"] for all repositories")
	}
	for j, p := range r.Repositories {
		segs, err := compilePattern(p)
		if err != nil {
			return c, fmt.Errorf("repositories[%d]: %w", j, err)
		}
		c.patterns = append(c.patterns, segs)
	}
	if len(r.Users) == 0 && len(r.Groups) == 0 {
		return c, fmt.Errorf("users: neither users nor groups are given, the rule would grant nothing")
	}
	for j, u := range r.Users {
		switch u {
		case "":
			return c, fmt.Errorf("users[%d]: empty user name", j)
		case anyUser:
			c.anyAuthed = true
		case AnonymousUser:
			c.anonymous = true
		default:
			c.users[u] = true
		}
	}
	for j, g := range r.Groups {
		members, ok := groups[g]
		if !ok {
			return c, fmt.Errorf("groups[%d]: group %q is not defined under groups", j, g)
		}
		for _, u := range members {
			c.users[u] = true
		}
	}
	if len(r.Actions) == 0 {
		return c, fmt.Errorf("actions: empty; use pull, push, delete or *")
	}
	for j, a := range r.Actions {
		switch a {
		case ActionPull, ActionPush, ActionDelete:
			c.actions[a] = true
		case ActionAll:
			for _, x := range repositoryActions {
				c.actions[x] = true
			}
		default:
			return c, fmt.Errorf("actions[%d]: unknown action %q; use pull, push, delete or *", j, a)
		}
	}
	return c, nil
}

// compilePattern splits a repository pattern into segments and checks that
// each is a valid path.Match pattern.
func compilePattern(p string) ([]string, error) {
	if p == "" {
		return nil, fmt.Errorf("empty pattern")
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "" {
			return nil, fmt.Errorf("pattern %q has an empty segment (leading, trailing or double '/')", p)
		}
		if s == "**" {
			continue
		}
		if _, err := path.Match(s, ""); err != nil {
			return nil, fmt.Errorf("pattern %q: segment %q: %v", p, s, err)
		}
	}
	return segs, nil
}

// matchSegments matches name segments against pattern segments.
func matchSegments(pat, name []string) bool {
	if len(pat) == 0 {
		return len(name) == 0
	}
	if pat[0] == "**" {
		if len(pat) == 1 {
			return len(name) >= 1
		}
		for i := 0; i <= len(name); i++ {
			if matchSegments(pat[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	if ok, _ := path.Match(pat[0], name[0]); !ok {
		return false
	}
	return matchSegments(pat[1:], name[1:])
}

// matchRepository reports whether repo matches pattern (for tests and
// tooling; rules use their compiled form).
func matchRepository(pattern, repo string) bool {
	segs, err := compilePattern(pattern)
	return err == nil && matchSegments(segs, strings.Split(repo, "/"))
}

func (c *compiledRule) matches(repo []string) bool {
	for _, p := range c.patterns {
		if matchSegments(p, repo) {
			return true
		}
	}
	return false
}

// appliesTo reports whether the rule covers the user. Grants to anonymous
// also cover authenticated users: logging in must never lose access a
// request without credentials would have had.
func (c *compiledRule) appliesTo(user string) bool {
	if c.anonymous {
		return true
	}
	if user == "" {
		return false
	}
	return c.anyAuthed || c.users[user]
}

// repositoryActions returns the concrete actions user ("" = anonymous) has
// on repo, in the order pull, push, delete.
func (rs *ruleSet) repositoryActions(user, repo string) []string {
	if user != "" && rs.openToAuthenticated {
		return slices.Clone(repositoryActions)
	}
	segs := strings.Split(repo, "/")
	have := map[string]bool{}
	for i := range rs.rules {
		r := &rs.rules[i]
		if r.appliesTo(user) && r.matches(segs) {
			for a := range r.actions {
				have[a] = true
			}
		}
	}
	var out []string
	for _, a := range repositoryActions {
		if have[a] {
			out = append(out, a)
		}
	}
	return out
}

// anonymousAllowed reports whether any rule grants anything to requests
// without credentials; only then may they pass the scope-less /v2/ check.
func (rs *ruleSet) anonymousAllowed() bool {
	for i := range rs.rules {
		if rs.rules[i].anonymous {
			return true
		}
	}
	return false
}

// grant returns the part of the requested scope user may have: the
// intersection of the requested and the allowed actions, possibly empty.
// A requested "*" on a repository stands for every action the user has
// (go-containerregistry asks "*" to delete), and is echoed as "*" only when
// the user has them all.
func (rs *ruleSet) grant(user string, sc Scope) Scope {
	out := Scope{Type: sc.Type, Name: sc.Name}
	switch sc.Type {
	case TypeRepository:
		if !validRepositoryName(sc.Name) {
			return out
		}
		allowed := rs.repositoryActions(user, sc.Name)
		for _, a := range sc.Actions {
			switch {
			case a == ActionAll && len(allowed) == len(repositoryActions):
				out.Actions = appendUnique(out.Actions, ActionAll)
			case a == ActionAll:
				out.Actions = appendUnique(out.Actions, allowed...)
			case slices.Contains(allowed, a):
				out.Actions = appendUnique(out.Actions, a)
			}
		}
	case TypeRegistry:
		// The catalog is open to every authenticated user; repositories
		// are protected per repository, names are not considered secret.
		if sc.Name == CatalogScope.Name && user != "" {
			out.Actions = appendUnique(out.Actions, sc.Actions...)
		}
	}
	return out
}

// validRepositoryName keeps scopes for impossible names out of tokens, so a
// pattern can never be tricked by a name like "team/../other".
func validRepositoryName(name string) bool {
	return names.ValidateRepository(name) == nil
}

func appendUnique(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

// permits reports whether user may do everything sc asks.
func (rs *ruleSet) permits(user string, sc Scope) bool {
	g := rs.grant(user, sc)
	return covers(g.Actions, sc.Actions)
}

// covers reports whether the granted actions include every needed one.
func covers(granted, needed []string) bool {
	if slices.Contains(granted, ActionAll) {
		return true
	}
	for _, a := range needed {
		if a == ActionAll {
			for _, x := range repositoryActions {
				if !slices.Contains(granted, x) {
					return false
				}
			}
			continue
		}
		if !slices.Contains(granted, a) {
			return false
		}
	}
	return true
}
