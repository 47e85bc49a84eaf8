package stack

import (
	"slices"
	"strings"
	"testing"
)

func TestParseScale(t *testing.T) {
	got, err := ParseScale([]string{"web=3", "worker=1"})
	if err != nil || got["web"] != 3 || got["worker"] != 1 || len(got) != 2 {
		t.Fatalf("ParseScale: %v %v", got, err)
	}
	for arg, want := range map[string]string{
		"web":   "want SERVICE=N",
		"=2":    "want SERVICE=N",
		"web=x": "whole number",
		"web=0": "at least 1",
	} {
		if _, err := ParseScale([]string{arg}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseScale(%q) = %v, want an error with %q", arg, err, want)
		}
	}
	if _, err := ParseScale([]string{"web=1", "web=2"}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate service: %v", err)
	}
}

func TestParseServiceReplica(t *testing.T) {
	for in, want := range map[string]struct {
		svc string
		n   int
	}{"web": {"web", 1}, "web/3": {"web", 3}} {
		if svc, n, err := ParseServiceReplica(in); err != nil || svc != want.svc || n != want.n {
			t.Errorf("%q = %q %d %v", in, svc, n, err)
		}
	}
	for _, in := range []string{"", "/2", "web/0", "web/x"} {
		if _, _, err := ParseServiceReplica(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestCompleteServices(t *testing.T) {
	st := &Stack{Services: []Service{{Name: "web"}, {Name: "worker"}, {Name: "db"}}}
	if got := CompleteServices(st, "w", false); !slices.Equal(got, []string{"web", "worker"}) {
		t.Errorf("w: %v", got)
	}
	if got := CompleteServices(st, "d", true); !slices.Equal(got, []string{"db="}) {
		t.Errorf("d=: %v", got)
	}
}
