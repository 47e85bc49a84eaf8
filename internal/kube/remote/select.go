package remote

import (
	"context"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/logs"
	"github.com/berth-dev/berth/internal/stack"
)

// Stack runs the stack commands: the daemon's client, or the Kubernetes
// cluster of the environment -E names (kubernetes:).
type Stack interface {
	Deploy(ctx context.Context, req deploy.Request, fn func(deploy.StreamLine) error) error
	Rollback(ctx context.Context, stack, service string, to int, fn func(deploy.StreamLine) error) error
	History(ctx context.Context, stack, service string) ([]deploy.HistoryEntry, error)
	Containers(ctx context.Context, stack string) ([]engine.Container, error)
	Logs(ctx context.Context, stack string, o client.LogsOptions, fn func(logs.Entry) error) error
}

var (
	_ Stack = (*Backend)(nil)
	_ Stack = (*client.Client)(nil)
)

// Select is where the stack commands go: the cluster of environment env
// when targets (the stack file's environments) gives it a kubernetes:,
// else daemon. Without env or targets (no stack file read) it is daemon.
func Select(env string, targets func() (map[string]stack.Target, error), daemon Stack) (Stack, error) {
	if env == "" || targets == nil {
		return daemon, nil
	}
	ts, err := targets()
	if err != nil {
		return nil, err
	}
	if t, ok := ts[env]; ok && t.Kubernetes != nil {
		return Open(t)
	}
	return daemon, nil
}

// Check is the release pipeline's check of a cluster environment: its
// cluster answers and its namespace exists.
func Check(ctx context.Context, t stack.Target) error {
	b, err := Open(t)
	if err != nil {
		return err
	}
	return b.Ping(ctx)
}
