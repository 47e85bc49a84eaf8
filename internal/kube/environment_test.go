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

func TestTranslateStackWarnsAboutNetworks(t *testing.T) {
	st := &stack.Stack{Name: "shop", Services: []stack.Service{
		{Name: "web", Image: "web:1", Replicas: 1, Networks: []string{"back", "front"}, Restart: stack.RestartPolicy{Mode: "always"}},
		{Name: "db", Image: "db:1", Replicas: 1, Networks: []string{"default"}, Restart: stack.RestartPolicy{Mode: "always"}},
	}}
	r, err := TranslateStack(st, &stack.Target{Env: "k8s", Kubernetes: &stack.Kubernetes{Namespace: "ns"}}, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !warned(r, "networks") || r.Objects[0].GetNamespace() != "ns" {
		t.Errorf("warnings %v", r.Warnings)
	}
	for _, w := range r.Warnings {
		if w.Field == "networks" && w.Service != "web" {
			t.Errorf("default network warned: %v", w)
		}
	}
	st.Services = append(st.Services, stack.Service{Name: "app", Build: &stack.Build{Image: "app"}})
	if _, err := TranslateStack(st, nil, "", Options{}); err == nil || !strings.Contains(err.Error(), "needs -E ENV --tag TAG") {
		t.Errorf("build without --tag: %v", err)
	}
}
