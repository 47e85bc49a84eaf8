package main

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/kube/remote"
	"github.com/berth-dev/berth/internal/stack"
)

// backend is where st's commands go: see remote.Select (st nil: the daemon).
func (f *stackFlags) backend(st *stack.Stack) (remote.Stack, error) {
	return remote.Select(f.Env, f.Targets(st), client.New(f.socket))
}

// stackBackend is the stack's name and backend: see cliflag's ForEnvironment.
func (f *stackFlags) stackBackend(cmd *cobra.Command) (string, remote.Stack, error) {
	name, st, err := f.ForEnvironment(cmd.Context(), cmd.ErrOrStderr())
	if err != nil {
		return "", nil, err
	}
	b, err := f.backend(st)
	return name, b, err
}
