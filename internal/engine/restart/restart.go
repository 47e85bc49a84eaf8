// Package restart decides whether and when the engine restarts a container
// that exited: the restart policy (no, always, on-failure[:N],
// unless-stopped) and Docker's backoff (100 ms doubling to one minute, reset
// once a container has run for 10 s).
package restart

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Mode is a restart policy mode.
type Mode string

// The modes compose and Docker know.
const (
	No            Mode = "no"
	Always        Mode = "always"
	OnFailure     Mode = "on-failure"
	UnlessStopped Mode = "unless-stopped"
)

// Policy is a restart policy.
type Policy struct {
	Mode       Mode
	MaxRetries int // on-failure only; 0 = unlimited
}

// Parse reads "no", "always", "on-failure", "on-failure:3", "unless-stopped"
// (and compose's deploy.restart_policy conditions "none" and "any").
func Parse(s string) (Policy, error) {
	mode, n, hasN := strings.Cut(strings.TrimSpace(s), ":")
	p := Policy{Mode: Mode(mode)}
	switch mode {
	case "", "no", "none":
		p.Mode = No
	case "always", "any":
		p.Mode = Always
	case "unless-stopped":
	case "on-failure":
		if hasN {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return Policy{}, fmt.Errorf("restart policy %q: the retry count must be a non-negative number", s)
			}
			p.MaxRetries = v
		}
		return p, nil
	default:
		return Policy{}, fmt.Errorf("restart policy %q: want no, always, on-failure[:N] or unless-stopped", s)
	}
	if hasN {
		return Policy{}, fmt.Errorf("restart policy %q: only on-failure takes a retry count", s)
	}
	return p, nil
}

func (p Policy) String() string {
	if p.Mode == OnFailure && p.MaxRetries > 0 {
		return fmt.Sprintf("on-failure:%d", p.MaxRetries)
	}
	return string(p.Mode)
}

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
	Policy   Policy
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
	case t.Policy.Mode == Always || t.Policy.Mode == UnlessStopped:
	case t.Policy.Mode == OnFailure:
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
