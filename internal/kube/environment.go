package kube

import (
	"fmt"

	"github.com/berth-dev/berth/internal/stack"
)

// ForEnvironment applies an environment's target to a loaded stack before
// it becomes a model: with tag, each service built from berth.yaml runs
// the environment registry's image under tag (TAG-VARIANT for a variant,
// as berth ship pushes it). It returns the environment's namespace ("":
// none set).
func ForEnvironment(st *stack.Stack, t stack.Target, tag string) (namespace string, err error) {
	if t.Kubernetes != nil {
		namespace = t.Kubernetes.Namespace
	}
	if tag == "" {
		return namespace, nil
	}
	for i, s := range st.Services {
		if s.Build == nil || s.Build.Image == "" {
			continue
		}
		if t.Registry == "" {
			return "", fmt.Errorf("service %s: --tag %s: environments.%s has no registry: to run its images from", s.Name, tag, t.Env)
		}
		v := tag
		if s.Build.Variant != "" {
			v += "-" + s.Build.Variant
		}
		st.Services[i].Image = t.Ref(s.Build.Image, v)
	}
	return namespace, nil
}
