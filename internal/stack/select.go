package stack

import (
	"fmt"
	"slices"
	"strings"
)

// Select returns the services `berth up SERVICE...` starts, as compose
// does: the named ones and, transitively, the services they depend on, in
// the stack's (dependency) order. An unknown name is an error naming the
// services there are. No names select nothing (nil: berth up starts every
// service).
func (s *Stack) Select(names []string) ([]string, error) {
	want := map[string]bool{}
	var visit func(name string) error
	visit = func(name string) error {
		if want[name] {
			return nil
		}
		svc := s.Service(name)
		if svc == nil {
			var have []string
			for _, sv := range s.Services {
				have = append(have, sv.Name)
			}
			return fmt.Errorf("no service %q in stack %s (services: %s)", name, s.Name, strings.Join(have, ", "))
		}
		want[name] = true
		deps := make([]string, 0, len(svc.DependsOn))
		for dep := range svc.DependsOn {
			deps = append(deps, dep)
		}
		slices.Sort(deps)
		for _, dep := range deps {
			// A dependency the stack lacks is only possible when it is
			// not required (compose's required: false): nothing to start.
			if s.Service(dep) == nil {
				continue
			}
			if err := visit(dep); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, sv := range s.Services {
		if want[sv.Name] {
			out = append(out, sv.Name)
		}
	}
	return out, nil
}
