package auth

import (
	"reflect"
	"testing"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		in      string
		want    Scope
		wantErr bool
	}{
		{in: "repository:team/app:pull,push", want: Scope{"repository", "team/app", []string{"pull", "push"}}},
		{in: "repository:app:pull", want: Scope{"repository", "app", []string{"pull"}}},
		{in: "registry:catalog:*", want: Scope{"registry", "catalog", []string{"*"}}},
		{in: "repository:a/b/c:delete", want: Scope{"repository", "a/b/c", []string{"delete"}}},
		{in: "repository:app:pull,,push", want: Scope{"repository", "app", []string{"pull", "push"}}},
		{in: "repository:app", wantErr: true},
		{in: "repository", wantErr: true},
		{in: "", wantErr: true},
		{in: ":app:pull", wantErr: true},
		{in: "repository::pull", wantErr: true},
		{in: "repository:app:", wantErr: true},
		{in: "repository:localhost:5000/app:pull", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseScope(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseScope(%q) = %+v, want error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseScope(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseScope(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestScopeStringRoundTrip(t *testing.T) {
	for _, s := range []string{"repository:team/app:pull,push", "registry:catalog:*"} {
		sc, err := ParseScope(s)
		if err != nil {
			t.Fatal(err)
		}
		if sc.String() != s {
			t.Errorf("String() = %q, want %q", sc.String(), s)
		}
	}
}

func TestParseScopeParamsSplitsAndMerges(t *testing.T) {
	got, err := parseScopeParams([]string{
		"repository:a:pull repository:b:push",
		"repository:a:push,pull",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Scope{
		{"repository", "a", []string{"pull", "push"}},
		{"repository", "b", []string{"push"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := parseScopeParams([]string{"bogus"}); err == nil {
		t.Fatal("malformed scope accepted")
	}
}
