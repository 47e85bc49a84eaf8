package stack

import (
	"fmt"
	"strconv"
	"strings"
)

// The command-line arguments that name a stack's services.

// ParseScale reads `berth scale`'s SERVICE=N arguments.
func ParseScale(args []string) (map[string]int, error) {
	out := map[string]int{}
	for _, a := range args {
		svc, num, ok := strings.Cut(a, "=")
		if !ok || svc == "" {
			return nil, fmt.Errorf("%q: want SERVICE=N", a)
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: replicas must be a whole number of at least 1 (berth down stops a stack)", a)
		}
		if _, dup := out[svc]; dup {
			return nil, fmt.Errorf("service %s given twice", svc)
		}
		out[svc] = n
	}
	return out, nil
}

// ParseServiceReplica reads `berth exec`'s SERVICE or SERVICE/N (replica
// 1 when N is not given).
func ParseServiceReplica(s string) (string, int, error) {
	service, n, hasN := strings.Cut(s, "/")
	if service == "" {
		return "", 0, fmt.Errorf("%q: want SERVICE or SERVICE/N", s)
	}
	if !hasN {
		return service, 1, nil
	}
	replica, err := strconv.Atoi(n)
	if err != nil || replica < 1 {
		return "", 0, fmt.Errorf("%q: replica %q must be a number from 1", s, n)
	}
	return service, replica, nil
}

// CompleteServices are the shell completions for a service argument: the
// names of st's services starting with prefix, each followed by "=" with
// assign (scale's SERVICE=N).
func CompleteServices(st *Stack, prefix string, assign bool) []string {
	var out []string
	for _, s := range st.Services {
		name := s.Name
		if assign {
			name += "="
		}
		if strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
	}
	return out
}
