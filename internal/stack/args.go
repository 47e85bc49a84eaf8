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

// Exec is `berth exec`'s arguments: SERVICE[/N] [--] CMD [ARG...], with
// the -e/--env KEY=VALUE variables.
type Exec struct {
	Service string
	Replica int
	Command []string
}

// ParseExec reads args (flags stop at SERVICE, so the "--" before CMD
// arrives as an argument) and checks env's KEY=VALUE form.
func ParseExec(args, env []string) (Exec, error) {
	if len(args) == 0 {
		return Exec{}, fmt.Errorf("no service: berth exec SERVICE[/N] -- CMD [ARG...]")
	}
	service, replica, err := ParseServiceReplica(args[0])
	if err != nil {
		return Exec{}, err
	}
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return Exec{}, fmt.Errorf("--env %q: want KEY=VALUE", kv)
		}
	}
	command := args[1:]
	if len(command) > 0 && command[0] == "--" {
		command = command[1:]
	}
	if len(command) == 0 {
		return Exec{}, fmt.Errorf("no command to run: berth exec %s -- CMD [ARG...]", args[0])
	}
	return Exec{Service: service, Replica: replica, Command: command}, nil
}

// Container is the name of the container the command runs in, in stack
// name: STACK-SERVICE-N.
func (e Exec) Container(name string) string {
	return name + "-" + e.Service + "-" + strconv.Itoa(e.Replica)
}
