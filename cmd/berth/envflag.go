package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// environmentFlag is berth.yaml's environment selector: -E/--environment
// NAME. --env NAME still works on these commands, with a deprecation
// warning, because compose (and berth exec) use -e/--env for variables.
type environmentFlag struct {
	name   string // --environment / -E
	old    string // --env (deprecated here)
	warned bool
}

func (e *environmentFlag) add(fl *pflag.FlagSet) {
	fl.StringVarP(&e.name, "environment", "E", "", "apply the berth.yaml environment `NAME` (an entry of its environments:); variables are --set KEY=VALUE")
	fl.StringVar(&e.old, "env", "", "deprecated: use -E/--environment NAME (as in compose, -e/--env KEY=VALUE is a variable, on exec)")
	_ = fl.MarkHidden("env")
}

// resolve returns the environment name, warning on stderr (once) when it
// came from the deprecated --env.
func (e *environmentFlag) resolve(stderr io.Writer) (string, error) {
	if e.old == "" {
		return e.name, nil
	}
	if e.name != "" && e.name != e.old {
		return "", fmt.Errorf("--env %s and --environment %s disagree; use --environment only", e.old, e.name)
	}
	if !e.warned {
		e.warned = true
		fmt.Fprintf(stderr, "berth: warning: --env %s is deprecated for the berth.yaml environment; use -E/--environment %s (--env KEY=VALUE is a variable, as in compose)\n", e.old, e.old)
	}
	return e.old, nil
}
