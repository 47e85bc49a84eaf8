// Package restart decides whether and when the engine restarts a container
// that exited: it applies the restart policy (model.RestartPolicy: no,
// always, on-failure[:N], unless-stopped) with Docker's backoff (100 ms
// doubling to one minute, reset once a container has run for 10 s).
package restart

import (
	"time"

	"github.com/berth-dev/berth/internal/model"
)

// Backoff constants, as Docker's restart manager has them.
const (
	InitialDelay = 100 * time.Millisecond
	MaxDelay     = time.Minute
	ResetAfter   = 10 * time.Second
)

// Exit describes how a container ended.
type Exit struct {
	Code      int
	OOMKilled bool
	// Stopped is true when the user (or the engine, on down/scale) stopped
	// it: no policy restarts a stopped container.
	Stopped bool
	// Unhealthy is true when the engine killed it for failing its health
	// check: it is replaced whatever the policy (except when stopped).
	Unhealthy bool
	Ran       time.Duration // how long it ran
}

// Tracker holds one container slot's restart state.
type Tracker struct {
	Policy   model.RestartPolicy
	restarts int           // restarts since the last reset (on-failure counts these)
	delay    time.Duration // next delay
}

// Next decides what to do after e: restart after the returned delay, or
// not at all. It advances the backoff.
func (t *Tracker) Next(e Exit) (restart bool, delay time.Duration) {
	if e.Stopped {
		return false, 0
	}
	if e.Ran >= ResetAfter {
		t.restarts, t.delay = 0, 0
	}
	switch {
	case e.Unhealthy:
		// Replaced, not left running or stopped (Docker would leave it).
	case t.Policy.Mode == model.RestartAlways || t.Policy.Mode == model.RestartUnlessStopped:
	case t.Policy.Mode == model.RestartOnFailure:
		if e.Code == 0 && !e.OOMKilled {
			return false, 0
		}
		if t.Policy.MaxRetries > 0 && t.restarts >= t.Policy.MaxRetries {
			return false, 0
		}
	default:
		return false, 0
	}
	if t.delay == 0 {
		t.delay = InitialDelay
	} else {
		t.delay *= 2
		if t.delay > MaxDelay {
			t.delay = MaxDelay
		}
	}
	t.restarts++
	return true, t.delay
}

// Restarts is how many restarts happened since the last reset.
func (t *Tracker) Restarts() int { return t.restarts }
