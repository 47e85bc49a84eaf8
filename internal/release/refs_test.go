package release

import (
	"strings"
	"testing"
)

func TestReferenceRules(t *testing.T) {
	for _, c := range [][3]string{{"1.0", "", "1.0"}, {"1.0", "dev", "1.0-dev"}} {
		if got := VariantTag(c[0], c[1]); got != c[2] {
			t.Errorf("VariantTag(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
	for in, want := range map[string]string{
		"127.0.0.1:5000/shop/app:1.0": "127.0.0.1:5000/shop/app",
		"127.0.0.1:5000/shop/app":     "127.0.0.1:5000/shop/app",
		"registry/app":                "registry/app",
	} {
		if got := RepoOf(in); got != want {
			t.Errorf("RepoOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSelectService(t *testing.T) {
	st := shop()
	if err := SelectService(st, "web", "other:1"); err != nil {
		t.Fatal(err)
	}
	if s := st.Service("web"); s.Image != "other:1" || s.Build != nil {
		t.Errorf("web %+v", s)
	}
	err := SelectService(shop(), "api", "")
	if err == nil || !strings.Contains(err.Error(), `/src/berth.yaml has no service "api" (services: web, worker, debug, db)`) {
		t.Errorf("unknown service: %v", err)
	}
}
