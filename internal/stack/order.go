package stack

import (
	"fmt"
	"sort"
	"strings"
)

// dependencyOrder sorts services so that each comes after the services it
// depends on; among services whose dependencies are all placed, the name
// decides, so the order is stable. Dependencies on services that are not
// loaded (optional ones, or disabled by a profile) do not constrain it.
func dependencyOrder(svcs map[string]Service) ([]string, error) {
	placed := map[string]bool{}
	var order []string
	names := sortedKeys(svcs)
	for len(order) < len(names) {
		progress := false
		for _, n := range names {
			if placed[n] {
				continue
			}
			ready := true
			for dep := range svcs[n].DependsOn {
				if _, exists := svcs[dep]; exists && !placed[dep] {
					ready = false
					break
				}
			}
			if ready {
				placed[n] = true
				order = append(order, n)
				progress = true
			}
		}
		if !progress {
			return nil, cycleError(svcs, placed)
		}
	}
	return order, nil
}

// cycleError names one dependency cycle among the unplaced services.
func cycleError(svcs map[string]Service, placed map[string]bool) error {
	var start string
	for _, n := range sortedKeys(svcs) {
		if !placed[n] {
			start = n
			break
		}
	}
	// Every unplaced service has an unplaced dependency, so walking them
	// must revisit a service: that loop is the cycle.
	seen := map[string]int{}
	var path []string
	for n := start; ; {
		if i, ok := seen[n]; ok {
			cycle := append(append([]string(nil), path[i:]...), n)
			return &fieldError{Path: "services." + cycle[0] + ".depends_on", Msg: "dependency cycle: " + strings.Join(cycle, " -> ")}
		}
		seen[n] = len(path)
		path = append(path, n)
		var deps []string
		for d := range svcs[n].DependsOn {
			if _, exists := svcs[d]; exists && !placed[d] {
				deps = append(deps, d)
			}
		}
		if len(deps) == 0 {
			return fmt.Errorf("services: dependency cycle among %s", n)
		}
		sort.Strings(deps)
		n = deps[0]
	}
}

// fieldError is a problem with one field of the loaded model; Load turns it
// into an error naming the file and line of that field.
type fieldError struct {
	Path string // "services.web.ports[0]"
	Msg  string
}

func (e *fieldError) Error() string { return e.Path + ": " + e.Msg }
