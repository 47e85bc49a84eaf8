package release

import (
	"context"
	"time"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/stack"
)

// Upper is the daemon berth up brings a stack up on.
type Upper interface {
	Daemon
	Up(ctx context.Context, spec model.StackSpec) ([]engine.Container, error)
}

// UpRequest is berth up's: the services to start (with the ones they
// depend on; none: every one) and whether, and how long, to wait until
// the stack is ready.
type UpRequest struct {
	Services    []string
	Wait        bool
	WaitTimeout time.Duration
}

// WaitError is a failed --wait: Containers (returned with it) are what
// was last seen, to show what was not ready.
type WaitError struct{ Err error }

func (e *WaitError) Error() string { return e.Err.Error() }
func (e *WaitError) Unwrap() error { return e.Err }

// Up is berth up: st's services selected, prepared (built, pinned) as
// Mode Up does, brought up on d, and with r.Wait waited for (WaitReady,
// polling every PollInterval). It returns the stack's containers.
func (p *Pipeline) Up(ctx context.Context, st *stack.Stack, d Upper, r UpRequest) ([]engine.Container, error) {
	only, err := st.Select(r.Services)
	if err != nil {
		return nil, err
	}
	spec, err := p.Prepare(ctx, st, Request{Mode: Up})
	if err != nil {
		return nil, err
	}
	spec.Only = only
	cs, err := d.Up(ctx, spec)
	if err != nil || !r.Wait {
		return cs, err
	}
	if cs, err = WaitReady(ctx, d, st.Name, r.WaitTimeout, PollInterval); err != nil {
		return cs, &WaitError{Err: err}
	}
	return cs, nil
}
