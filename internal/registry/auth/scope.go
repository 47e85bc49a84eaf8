package auth

import (
	"fmt"
	"slices"
	"strings"
)

// Resource types of Docker's token scopes.
const (
	TypeRepository = "repository"
	TypeRegistry   = "registry"
)

// Actions a rule can grant on a repository. ActionAll stands for all of them.
const (
	ActionPull   = "pull"
	ActionPush   = "push"
	ActionDelete = "delete"
	ActionAll    = "*"
)

// repositoryActions are the concrete actions ActionAll expands to.
var repositoryActions = []string{ActionPull, ActionPush, ActionDelete}

// CatalogScope is what listing the registry's repositories needs.
var CatalogScope = Scope{Type: TypeRegistry, Name: "catalog", Actions: []string{ActionAll}}

// Scope is one resource scope of Docker's token protocol, such as
// "repository:team/app:pull,push" or "registry:catalog:*".
type Scope struct {
	Type    string
	Name    string
	Actions []string
}

// RepositoryScope is a shorthand for a repository scope.
func RepositoryScope(name string, actions ...string) Scope {
	return Scope{Type: TypeRepository, Name: name, Actions: actions}
}

// ParseScope parses "type:name:action[,action...]". Repository names never
// contain ':' (the registry host is not part of the scope), so the first
// colon ends the type and the last colon starts the actions; a colon left in
// between is refused rather than guessed at.
func ParseScope(s string) (Scope, error) {
	first := strings.IndexByte(s, ':')
	last := strings.LastIndexByte(s, ':')
	if first < 0 || first == last {
		return Scope{}, fmt.Errorf("scope %q is invalid: want type:name:actions", s)
	}
	sc := Scope{Type: s[:first], Name: s[first+1 : last]}
	if sc.Type == "" {
		return Scope{}, fmt.Errorf("scope %q is invalid: the type is empty", s)
	}
	if sc.Name == "" {
		return Scope{}, fmt.Errorf("scope %q is invalid: the name is empty", s)
	}
	if strings.Contains(sc.Name, ":") {
		return Scope{}, fmt.Errorf("scope %q is invalid: the name %q contains ':'", s, sc.Name)
	}
	for _, a := range strings.Split(s[last+1:], ",") {
		if a = strings.TrimSpace(a); a != "" {
			sc.Actions = append(sc.Actions, a)
		}
	}
	if len(sc.Actions) == 0 {
		return Scope{}, fmt.Errorf("scope %q is invalid: no actions", s)
	}
	return sc, nil
}

// String formats s as ParseScope reads it.
func (s Scope) String() string {
	return s.Type + ":" + s.Name + ":" + strings.Join(s.Actions, ",")
}

// parseScopeParams parses the scope values of a token request. Each value may
// itself hold several scopes separated by spaces (OAuth2 style, used by
// containerd's POST requests and by some clients for GET).
func parseScopeParams(values []string) ([]Scope, error) {
	var out []Scope
	for _, v := range values {
		for _, f := range strings.Fields(v) {
			sc, err := ParseScope(f)
			if err != nil {
				return nil, err
			}
			out = append(out, sc)
		}
	}
	return mergeScopes(out), nil
}

// mergeScopes joins scopes naming the same resource and drops duplicate
// actions, keeping the first-seen order so tokens and challenges are stable.
func mergeScopes(in []Scope) []Scope {
	var out []Scope
	index := map[[2]string]int{}
	for _, sc := range in {
		key := [2]string{sc.Type, sc.Name}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, Scope{Type: sc.Type, Name: sc.Name})
		}
		for _, a := range sc.Actions {
			if !slices.Contains(out[i].Actions, a) {
				out[i].Actions = append(out[i].Actions, a)
			}
		}
	}
	return out
}
