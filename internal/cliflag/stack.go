package cliflag

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/internal/stack"
)

// Stack is the flags of the commands that read a stack file (berth.yaml or
// compose files): -f, -E/--environment, -p, --set, --profile, --env-file.
type Stack struct {
	Files       []string
	Environment Environment
	Env         string // the environment, once Options resolved it
	Project     string
	Set         []string
	Profiles    []string
	EnvFiles    []string
}

// AddFile registers --file (with shorthand short, unless "" because -f
// means something else, as in `logs -f`).
func (f *Stack) AddFile(fl *pflag.FlagSet, short string) {
	fl.StringArrayVarP(&f.Files, "file", short, nil, "berth.yaml or compose file (default: $COMPOSE_FILE, else berth.yaml, compose.yaml, docker-compose.yml here or in a parent directory)")
}

// AddRest registers the other flags.
func (f *Stack) AddRest(fl *pflag.FlagSet) {
	f.Environment.Add(fl)
	fl.StringVarP(&f.Project, "project-name", "p", "", "stack name (default: $COMPOSE_PROJECT_NAME, else from the file or its directory)")
	fl.StringArrayVar(&f.Set, "set", nil, "set a variable: --set KEY=VALUE")
	fl.StringArrayVar(&f.Profiles, "profile", nil, "activate a compose profile (repeatable; default $COMPOSE_PROFILES)")
	fl.StringArrayVar(&f.EnvFiles, "env-file", nil, "compose: read interpolation variables from this file instead of .env (repeatable)")
}

// Options are the stack.LoadOptions the flags say; a deprecated --env
// warns on stderr.
func (f *Stack) Options(stderr io.Writer) (stack.LoadOptions, error) {
	env, err := f.Environment.Resolve(stderr)
	if err != nil {
		return stack.LoadOptions{}, err
	}
	f.Env = env
	set, err := ParseSet(f.Set)
	if err != nil {
		return stack.LoadOptions{}, err
	}
	return stack.LoadOptions{Files: f.Files, Env: env, ProjectName: f.Project, Profiles: f.Profiles, EnvFiles: f.EnvFiles, Set: set}, nil
}

// Load loads the stack, printing the loader's warnings (attributes berth
// does not support) on stderr.
func (f *Stack) Load(ctx context.Context, stderr io.Writer) (*stack.Stack, error) {
	o, err := f.Options(stderr)
	if err != nil {
		return nil, err
	}
	st, warns, err := stack.Load(ctx, o)
	if err != nil {
		return nil, err
	}
	if len(warns) > 0 {
		fmt.Fprintln(stderr, stack.FormatWarnings(warns))
	}
	return st, nil
}

// Name is -p, else the name of the stack the file describes.
func (f *Stack) Name(ctx context.Context, stderr io.Writer) (string, error) {
	if f.Project != "" {
		return f.Project, nil
	}
	st, err := f.Load(ctx, stderr)
	if err != nil {
		return "", err
	}
	return st.Name, nil
}

// NameIfGiven is the stack -p or -f names: -p, else with -f the name of
// the stack the file describes, else "" (none: every stack, as stats).
func (f *Stack) NameIfGiven(ctx context.Context, stderr io.Writer) (string, error) {
	if f.Project == "" && len(f.Files) == 0 {
		return "", nil
	}
	return f.Name(ctx, stderr)
}

// ForEnvironment is the stack commands' stack: with -E the stack file is
// read (its environments: say whether -E is a cluster) and returned with
// its name (-p, else the file's); without, st is nil and the name is
// Name's (the stack on the daemon).
func (f *Stack) ForEnvironment(ctx context.Context, stderr io.Writer) (name string, st *stack.Stack, err error) {
	if f.Environment.Name == "" && f.Environment.Old == "" {
		name, err = f.Name(ctx, stderr)
		return name, nil, err
	}
	if st, err = f.Load(ctx, stderr); err != nil {
		return "", nil, err
	}
	if f.Project != "" {
		return f.Project, st, nil
	}
	return st.Name, st, nil
}

// Targets reads the environments' registries of st's file, with the same
// variables (nil for a nil st: no file was read).
func (f *Stack) Targets(st *stack.Stack) func() (map[string]stack.Target, error) {
	if st == nil {
		return nil
	}
	return func() (map[string]stack.Target, error) {
		o, err := f.Options(io.Discard)
		if err != nil {
			return nil, err
		}
		return stack.LoadTargets(st.Files[0], o)
	}
}

// Target is the environment -E/--environment names, as st's file
// declares it (registry, repository, overrides); nil without one.
func (f *Stack) Target(st *stack.Stack) (*stack.Target, error) {
	if f.Env == "" {
		return nil, nil
	}
	targets, err := f.Targets(st)()
	if err != nil {
		return nil, err
	}
	t := targets[f.Env]
	return &t, nil
}
