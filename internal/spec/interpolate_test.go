package spec

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func mapLookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestInterpolate(t *testing.T) {
	vars := map[string]string{"A": "a", "EMPTY": "", "B": "b", "PORT": "8080"}
	tests := []struct {
		in, want string
		unset    []string
	}{
		{"plain", "plain", nil},
		{"${A}", "a", nil},
		{"$A", "a", nil},
		{"x$A-y", "xa-y", nil},
		{"$A$B", "ab", nil},
		{"${A}${B}", "ab", nil},
		{"$$", "$", nil},
		{"$$A", "$A", nil},
		{"$${A}", "${A}", nil},
		{"cost: $$5", "cost: $5", nil},
		{"${MISSING}", "", []string{"MISSING"}},
		{"$MISSING and ${MISSING} and $OTHER", " and  and ", []string{"MISSING", "OTHER"}},
		{"${MISSING:-def}", "def", nil},
		{"${MISSING-def}", "def", nil},
		{"${EMPTY:-def}", "def", nil},
		{"${EMPTY-def}", "", nil},
		{"${A:-def}", "a", nil},
		{"${MISSING:-}", "", nil},
		{"${MISSING:-${B}}", "b", nil},
		{"${MISSING:-${ALSO:-deep}}", "deep", nil},
		{"${A:-${NOTUSED}}", "a", nil}, // unused defaults are not evaluated
		{"${MISSING:-a}b}", "ab}", nil},
		{"${MISSING:-$$}", "$", nil},
		{"${A:+alt}", "alt", nil},
		{"${EMPTY:+alt}", "", nil},
		{"${EMPTY+alt}", "alt", nil},
		{"${MISSING+alt}", "", nil},
		{"${A:?boom}", "a", nil},
		{"${EMPTY?boom}", "", nil},
		{"${PORT}/tcp", "8080/tcp", nil},
		{"-X main.v=${A}", "-X main.v=a", nil},
	}
	for _, tt := range tests {
		got, unset, err := Interpolate(tt.in, mapLookup(vars))
		if err != nil {
			t.Errorf("Interpolate(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want || !slices.Equal(unset, tt.unset) {
			t.Errorf("Interpolate(%q) = %q, unset %q; want %q, %q", tt.in, got, unset, tt.want, tt.unset)
		}
	}
}

func TestInterpolateErrors(t *testing.T) {
	vars := map[string]string{"EMPTY": ""}
	tests := []struct{ in, want string }{
		{"${MISSING:?set the port}", `variable "MISSING" is required: set the port`},
		{"${EMPTY:?no empty}", `variable "EMPTY" is required: no empty`},
		{"${MISSING?}", `variable "MISSING" is required: must be set`},
		{"${MISSING:?}", `must be set and non-empty`},
		{"${MISSING", "unterminated"},
		{"${}", "invalid variable name"},
		{"${1A}", "invalid variable name"},
		{"${A.b}", "invalid expression"},
		{"${A:x}", "invalid expression"},
		{"price $5", `invalid "$5"`},
		{"trailing $", "lone"},
		{"$ space", `invalid "$ "`},
		{strings.Repeat("${A:-", 40) + "x" + strings.Repeat("}", 40), "nested"},
	}
	for _, tt := range tests {
		_, _, err := Interpolate(tt.in, mapLookup(vars))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Interpolate(%q) error = %v, want it to contain %q", tt.in, err, tt.want)
		}
	}
	var re *RequiredError
	if _, _, err := Interpolate("${X:?msg}", mapLookup(nil)); !errors.As(err, &re) || re.Name != "X" || re.Message != "msg" {
		t.Errorf("want a *RequiredError for X, got %v", err)
	}
}

func FuzzInterpolate(f *testing.F) {
	for _, s := range []string{"", "$", "$$", "${A}", "${A:-${B:-c}}", "${A:?x}", "$A$B", "${", "${A:-}}", "${A:+${B}}"} {
		f.Add(s)
	}
	lookup := mapLookup(map[string]string{"A": "1", "B": "", "LONG": strings.Repeat("x", 10)})
	f.Fuzz(func(t *testing.T, s string) {
		out, unset, err := Interpolate(s, lookup)
		if err != nil {
			return
		}
		if !strings.Contains(s, "$") && out != s {
			t.Fatalf("text without $ changed: %q → %q", s, out)
		}
		for _, u := range unset {
			if !validVarName(u) {
				t.Fatalf("unset reports invalid name %q", u)
			}
		}
	})
}
