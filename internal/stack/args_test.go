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

func TestParseExec(t *testing.T) {
	e, err := ParseExec([]string{"web/2", "--", "sh", "-c", "env"}, []string{"A=1", "B="})
	if err != nil || e.Service != "web" || e.Replica != 2 || strings.Join(e.Command, " ") != "sh -c env" || e.Container("shop") != "shop-web-2" {
		t.Fatalf("ParseExec = %+v, %v", e, err)
	}
	if e, err := ParseExec([]string{"web", "id"}, nil); err != nil || e.Replica != 1 || e.Command[0] != "id" {
		t.Errorf("without --: %+v, %v", e, err)
	}
	for _, c := range []struct {
		args, env []string
		want      string
	}{
		{[]string{"web", "--"}, nil, "no command to run: berth exec web -- CMD"},
		{[]string{"web", "id"}, []string{"NOVALUE"}, `--env "NOVALUE": want KEY=VALUE`},
		{[]string{"web", "id"}, []string{"=x"}, `--env "=x": want KEY=VALUE`},
		{[]string{"web/0", "id"}, nil, "must be a number from 1"},
	} {
		if _, err := ParseExec(c.args, c.env); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseExec(%q, %q) = %v, want %q", c.args, c.env, err, c.want)
		}
	}
}

func FuzzParseExec(f *testing.F) {
	f.Add("web/2", "--", "sh", "A=1")
	f.Add("web", "id", "", "=x")
	f.Add("/", "--", "", "")
	f.Fuzz(func(t *testing.T, target, a1, a2, env string) {
		e, err := ParseExec([]string{target, a1, a2}, []string{env})
		if err != nil {
			return
		}
		if e.Service == "" || e.Replica < 1 || len(e.Command) == 0 || e.Command[0] == "--" && a1 == "--" {
			t.Fatalf("ParseExec(%q, %q, %q) = %+v", target, a1, a2, e)
		}
		if k, _, ok := strings.Cut(env, "="); !ok || k == "" {
			t.Fatalf("--env %q accepted", env)
		}
	})
}
