package cliflag

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// Environment is berth.yaml's environment selector: -E/--environment
// NAME. --env NAME still works on these commands, with a deprecation
// warning, because compose (and berth exec) use -e/--env for variables.
type Environment struct {
	Name   string // --environment / -E
	Old    string // --env (deprecated here)
	warned bool
}

// Add registers -E/--environment and the hidden --env.
func (e *Environment) Add(fl *pflag.FlagSet) {
	fl.StringVarP(&e.Name, "environment", "E", "", "apply the berth.yaml environment `NAME` (an entry of its environments:); variables are --set KEY=VALUE")
	fl.StringVar(&e.Old, "env", "", "deprecated: use -E/--environment NAME (as in compose, -e/--env KEY=VALUE is a variable, on exec)")
	_ = fl.MarkHidden("env")
}

// Resolve returns the environment name, warning on stderr (once) when it
// came from the deprecated --env.
func (e *Environment) Resolve(stderr io.Writer) (string, error) {
	if e.Old == "" {
		return e.Name, nil
	}
	if e.Name != "" && e.Name != e.Old {
		return "", fmt.Errorf("--env %s and --environment %s disagree; use --environment only", e.Old, e.Name)
	}
	if !e.warned {
		e.warned = true
		fmt.Fprintf(stderr, "berth: warning: --env %s is deprecated for the berth.yaml environment; use -E/--environment %s (--env KEY=VALUE is a variable, as in compose)\n", e.Old, e.Old)
	}
	return e.Old, nil
}
