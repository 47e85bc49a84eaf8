package kube

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/stack"
	"github.com/berth-dev/berth/internal/stack/enginespec"
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

// TranslateStack translates a loaded stack for an environment (nil: none;
// tag as ForEnvironment): what berth export does. Besides Translate's, it
// warns about what the model does not carry: the stack's networks.
func TranslateStack(st *stack.Stack, env *stack.Target, tag string, opts Options) (Result, error) {
	if env != nil {
		ns, err := ForEnvironment(st, *env, tag)
		if err != nil {
			return Result{}, err
		}
		opts.Namespace = ns
	}
	spec, err := enginespec.FromStack(st)
	if err != nil {
		return Result{}, fmt.Errorf("%w (a service berth.yaml builds needs -E ENV --tag TAG: its image in the environment's registry)", err)
	}
	r, err := Translate(spec, opts)
	if err != nil {
		return r, err
	}
	var nets []Warning
	for _, s := range st.Services {
		if len(s.Networks) > 1 || len(s.Networks) == 1 && s.Networks[0] != "default" {
			nets = append(nets, Warning{Service: s.Name, Field: "networks", Message: fmt.Sprintf("%s: a cluster's pod network is flat (every pod reaches every pod); no NetworkPolicy is generated", strings.Join(s.Networks, ", "))})
		}
	}
	r.Warnings = append(nets, r.Warnings...)
	slices.SortStableFunc(r.Warnings, func(a, b Warning) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Field, b.Field))
	})
	return r, nil
}
