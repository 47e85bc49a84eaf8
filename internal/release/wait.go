package release

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/health"
)

// ErrNotReady is what WaitReady's error wraps when the timeout passed.
var ErrNotReady = errors.New("not ready")

// PollInterval is how often WaitReady asks the daemon.
const PollInterval = 200 * time.Millisecond

// WaitReady polls the stack until it has containers, every one runs, and
// those with a health check are healthy. It returns the containers last
// seen, also with an error (to show what was not ready).
func WaitReady(ctx context.Context, d Daemon, stack string, timeout, interval time.Duration) ([]engine.Container, error) {
	deadline := time.Now().Add(timeout)
	for {
		cs, err := d.Containers(ctx, stack)
		if err != nil {
			return nil, err
		}
		if Ready(cs) {
			return cs, nil
		}
		if time.Now().After(deadline) {
			return cs, fmt.Errorf("stack %s %w after %s", stack, ErrNotReady, timeout)
		}
		select {
		case <-ctx.Done():
			return cs, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// Ready reports whether a stack with these containers is ready: it has
// some, they all run, and those with a health check are healthy.
func Ready(cs []engine.Container) bool {
	for _, c := range cs {
		if c.State != engine.StateRunning || (c.Health != "" && c.Health != health.Healthy) {
			return false
		}
	}
	return len(cs) > 0
}
