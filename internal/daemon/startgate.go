package daemon

import (
	"sync"
	"time"
)

// startGate counts the container starts in flight, from taking a network
// (networks.Attach) until the supervisor reports the container running or
// the start is undone. Work that can wait — refilling the namespace pools —
// waits until none is in flight: a refill forks the CNI plugins and
// iptables and takes the kernel's network locks, which on a small machine
// slows a concurrent `runc run` by a fifth or more, even at nice 19.
type startGate struct {
	mu      sync.Mutex
	started map[string]time.Time // container id → when its start began
	changed chan struct{}        // closed and replaced when a start ends
	now     func() time.Time
}

// startGateExpiry bounds how long one start holds the gate: a start no
// path ended (a bug, or a start wedged in runc) must not hold back the
// pools for good.
const startGateExpiry = 30 * time.Second

func newStartGate() *startGate {
	return &startGate{started: map[string]time.Time{}, changed: make(chan struct{}), now: time.Now}
}

// begin marks container id's start as in flight.
func (g *startGate) begin(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.started[id] = g.now()
}

// end marks it over; ending a start not in flight (a restart, which
// attaches nothing, or a second undo) does nothing, nor does ending one on
// a nil gate (a runtime without networks to hold back).
func (g *startGate) end(id string) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.started[id]; !ok {
		return
	}
	delete(g.started, id)
	close(g.changed)
	g.changed = make(chan struct{})
}

// waitIdle blocks until no start is in flight (true), or until stop or
// wake is closed or receives (false: the caller has something more
// urgent to look at).
func (g *startGate) waitIdle(stop <-chan struct{}, wake <-chan struct{}) bool {
	for {
		g.mu.Lock()
		now := g.now()
		var oldest time.Time
		for id, at := range g.started {
			if now.Sub(at) >= startGateExpiry {
				delete(g.started, id)
				continue
			}
			if oldest.IsZero() || at.Before(oldest) {
				oldest = at
			}
		}
		if oldest.IsZero() {
			g.mu.Unlock()
			return true
		}
		ch := g.changed
		g.mu.Unlock()
		expire := time.NewTimer(oldest.Add(startGateExpiry).Sub(now))
		select {
		case <-ch:
		case <-expire.C:
		case <-stop:
			expire.Stop()
			return false
		case <-wake:
			expire.Stop()
			return false
		}
		expire.Stop()
	}
}
