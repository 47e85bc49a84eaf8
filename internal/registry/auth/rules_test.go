package auth

import (
	"reflect"
	"strings"
	"testing"
)

func TestMatchRepository(t *testing.T) {
	tests := []struct {
		pattern, repo string
		want          bool
	}{
		{"**", "app", true},
		{"**", "team/app", true},
		{"**", "a/b/c/d", true},
		{"app", "app", true},
		{"app", "team/app", false},
		{"team/*", "team/app", true},
		{"team/*", "team/app/sub", false},
		{"team/*", "team", false},
		{"team/**", "team/app", true},
		{"team/**", "team/app/sub/deeper", true},
		{"team/**", "team", false},
		{"team/**", "teamx/app", false},
		{"team/**", "other/team/app", false},
		{"**/app", "app", true},
		{"**/app", "a/b/app", true},
		{"**/app", "a/b/app2", false},
		{"team/**/base", "team/base", true},
		{"team/**/base", "team/x/y/base", true},
		{"team/**/base", "team/x/y/other", false},
		{"team-?/app", "team-a/app", true},
		{"team-[ab]/app", "team-c/app", false},
		{"*-prod", "web-prod", true},
		{"*-prod", "team/web-prod", false},
		{"*", "app", true},
		{"*", "team/app", false},
	}
	for _, tt := range tests {
		if got := matchRepository(tt.pattern, tt.repo); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.repo, got, tt.want)
		}
	}
}

func TestRuleGrants(t *testing.T) {
	cfg := Config{
		Groups: map[string][]string{
			"devs": {"dora", "dan"},
			"ops":  {"olga"},
		},
		Rules: []Rule{
			{Repositories: []string{"team/**"}, Groups: []string{"devs"}, Actions: []string{"pull", "push"}},
			{Repositories: []string{"**"}, Groups: []string{"ops"}, Actions: []string{"*"}},
			{Repositories: []string{"public/*"}, Users: []string{"anonymous"}, Actions: []string{"pull"}},
			{Repositories: []string{"shared/**", "library/*"}, Users: []string{"*"}, Actions: []string{"pull"}},
			{Repositories: []string{"team/cleanup"}, Users: []string{"dan"}, Actions: []string{"delete"}},
			{Repositories: []string{"reader/**"}, Users: []string{"rita"}, Actions: []string{"pull"}},
		},
	}
	rs, err := compileRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, repo string
		want       []string
	}{
		{"dora", "team/app", []string{"pull", "push"}},
		{"dora", "team/a/b", []string{"pull", "push"}},
		{"dora", "other/app", nil},
		{"dora", "shared/base", []string{"pull"}},
		{"dora", "public/x", []string{"pull"}}, // anonymous grants cover logged-in users too
		{"dan", "team/cleanup", []string{"pull", "push", "delete"}},
		{"dora", "team/cleanup", []string{"pull", "push"}},
		{"olga", "anything/at/all", []string{"pull", "push", "delete"}},
		{"rita", "reader/x", []string{"pull"}},
		{"rita", "team/app", nil},
		{"stranger", "library/alpine", []string{"pull"}},
		{"stranger", "library/a/b", nil},
		{"", "public/x", []string{"pull"}},
		{"", "shared/base", nil}, // "*" means authenticated only
		{"", "team/app", nil},
	}
	for _, tt := range tests {
		got := rs.repositoryActions(tt.user, tt.repo)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("actions(%q, %q) = %v, want %v", tt.user, tt.repo, got, tt.want)
		}
	}
	if !rs.anonymousAllowed() {
		t.Error("anonymousAllowed = false with an anonymous rule")
	}
}

func TestGrantIntersects(t *testing.T) {
	rs, err := compileRules(Config{Rules: []Rule{
		{Repositories: []string{"team/**"}, Users: []string{"dora"}, Actions: []string{"pull", "push"}},
		{Repositories: []string{"all/**"}, Users: []string{"dora"}, Actions: []string{"*"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user  string
		scope string
		want  []string
	}{
		{"dora", "repository:team/app:pull,push", []string{"pull", "push"}},
		{"dora", "repository:team/app:pull,push,delete", []string{"pull", "push"}},
		{"dora", "repository:team/app:*", []string{"pull", "push"}}, // "*" asks for whatever the user has
		{"dora", "repository:all/app:*", []string{"*"}},
		{"dora", "repository:all/app:delete", []string{"delete"}},
		{"dora", "repository:other:pull", nil},
		{"dora", "repository:team/app:bogus", nil},
		{"dora", "repository:team/../all/x:pull", nil}, // impossible names get nothing
		{"dora", "repository:Team/App:pull", nil},
		{"dora", "registry:catalog:*", []string{"*"}},
		{"", "registry:catalog:*", nil},
		{"dora", "registry:other:*", nil},
		{"dora", "plugin:x:pull", nil},
	}
	for _, tt := range tests {
		sc, err := ParseScope(tt.scope)
		if err != nil {
			t.Fatal(err)
		}
		g := rs.grant(tt.user, sc)
		if !reflect.DeepEqual(g.Actions, tt.want) {
			t.Errorf("grant(%q, %s) = %v, want %v", tt.user, tt.scope, g.Actions, tt.want)
		}
	}
}

func TestNoRulesOpensToAuthenticatedUsers(t *testing.T) {
	for _, anon := range []bool{false, true} {
		rs, err := compileRules(Config{AnonymousPull: anon})
		if err != nil {
			t.Fatal(err)
		}
		if got := rs.repositoryActions("anyone", "x/y"); len(got) != 3 {
			t.Errorf("anonymousPull=%v: authenticated user gets %v, want everything", anon, got)
		}
		got := rs.repositoryActions("", "x/y")
		if anon && !reflect.DeepEqual(got, []string{"pull"}) || !anon && got != nil {
			t.Errorf("anonymousPull=%v: anonymous gets %v", anon, got)
		}
		if rs.anonymousAllowed() != anon {
			t.Errorf("anonymousPull=%v: anonymousAllowed = %v", anon, rs.anonymousAllowed())
		}
	}
}

func TestRuleValidation(t *testing.T) {
	ok := Rule{Repositories: []string{"**"}, Users: []string{"a"}, Actions: []string{"pull"}}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"unknown action", Config{Rules: []Rule{ok, {Repositories: []string{"x"}, Users: []string{"a"}, Actions: []string{"pull", "write"}}}}, `rules[1].actions[1]: unknown action "write"`},
		{"no actions", Config{Rules: []Rule{{Repositories: []string{"x"}, Users: []string{"a"}}}}, "rules[0].actions"},
		{"no repositories", Config{Rules: []Rule{{Users: []string{"a"}, Actions: []string{"pull"}}}}, "rules[0].repositories"},
		{"no principals", Config{Rules: []Rule{{Repositories: []string{"x"}, Actions: []string{"pull"}}}}, "rules[0].users"},
		{"empty rule", Config{Rules: []Rule{{}}}, "rules[0]."},
		{"empty user", Config{Rules: []Rule{{Repositories: []string{"x"}, Users: []string{""}, Actions: []string{"pull"}}}}, "rules[0].users[0]"},
		{"bad pattern", Config{Rules: []Rule{{Repositories: []string{"team/[a"}, Users: []string{"a"}, Actions: []string{"pull"}}}}, "rules[0].repositories[0]"},
		{"empty segment", Config{Rules: []Rule{{Repositories: []string{"team//x"}, Users: []string{"a"}, Actions: []string{"pull"}}}}, "rules[0].repositories[0]"},
		{"leading slash", Config{Rules: []Rule{{Repositories: []string{"/team"}, Users: []string{"a"}, Actions: []string{"pull"}}}}, "rules[0].repositories[0]"},
		{"undefined group", Config{Rules: []Rule{{Repositories: []string{"x"}, Groups: []string{"ghosts"}, Actions: []string{"pull"}}}}, `rules[0].groups[0]: group "ghosts"`},
		{"bad group member", Config{Groups: map[string][]string{"g": {"ok", "*"}}}, "groups.g[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compileRules(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
