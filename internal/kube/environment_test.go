package kube

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/stack"
)

func TestForEnvironment(t *testing.T) {
	st := &stack.Stack{Services: []stack.Service{
		{Name: "web", Build: &stack.Build{Image: "app"}},
		{Name: "debug", Build: &stack.Build{Image: "app", Variant: "debug"}},
		{Name: "db", Image: "postgres:16"},
	}}
	tgt := stack.Target{Env: "prod", Registry: "reg.example", Repository: "team", Kubernetes: &stack.Kubernetes{Namespace: "shop"}}
	ns, err := ForEnvironment(st, tgt, "1.2.0")
	if err != nil || ns != "shop" {
		t.Fatal(ns, err)
	}
	if st.Services[0].Image != "reg.example/team/app:1.2.0" || st.Services[1].Image != "reg.example/team/app:1.2.0-debug" || st.Services[2].Image != "postgres:16" {
		t.Errorf("images %+v", st.Services)
	}
	if _, err := ForEnvironment(st, stack.Target{Env: "ci"}, "1"); err == nil || !strings.Contains(err.Error(), "environments.ci has no registry") {
		t.Errorf("no registry: %v", err)
	}
	if ns, err := ForEnvironment(st, stack.Target{Env: "ci"}, ""); ns != "" || err != nil {
		t.Errorf("no tag: %q %v", ns, err)
	}
}
