package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/logs"
	"github.com/berth-dev/berth/internal/kube/remote"
	"github.com/berth-dev/berth/internal/stack"
)

// stackBackend runs the stack commands: the daemon on --socket, or the
// Kubernetes cluster of the environment -E names (kubernetes:).
type stackBackend interface {
	Deploy(ctx context.Context, req deploy.Request, fn func(deploy.StreamLine) error) error
	Rollback(ctx context.Context, stack, service string, to int, fn func(deploy.StreamLine) error) error
	History(ctx context.Context, stack, service string) ([]deploy.HistoryEntry, error)
	Containers(ctx context.Context, stack string) ([]engine.Container, error)
	Logs(ctx context.Context, stack string, o client.LogsOptions, fn func(logs.Entry) error) error
}

// backend is where st's commands go (st nil: the daemon).
func (f *stackFlags) backend(st *stack.Stack) (stackBackend, error) {
	if st != nil && f.Env != "" {
		targets, err := f.Targets(st)()
		if err != nil {
			return nil, err
		}
		if t, ok := targets[f.Env]; ok && t.Kubernetes != nil {
			return remote.Open(t)
		}
	}
	return client.New(f.socket), nil
}

// stackBackend is the stack's name and backend: with -E the stack file is
// read (its environments: say whether -E is a cluster), else -p or the
// file names the stack on the daemon.
func (f *stackFlags) stackBackend(cmd *cobra.Command) (string, stackBackend, error) {
	if f.Environment.Name == "" && f.Environment.Old == "" {
		name, err := f.stackName(cmd)
		return name, client.New(f.socket), err
	}
	st, err := f.load(cmd)
	if err != nil {
		return "", nil, err
	}
	name := st.Name
	if f.Project != "" {
		name = f.Project
	}
	b, err := f.backend(st)
	return name, b, err
}

// clusterCheck is the release pipeline's check of a cluster environment.
func clusterCheck(ctx context.Context, t stack.Target) error {
	b, err := remote.Open(t)
	if err != nil {
		return err
	}
	return b.Ping(ctx)
}
