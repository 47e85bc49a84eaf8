package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Passive health: a backend that refused a connection is skipped for this
// long while other backends are available.
const failPause = time.Second

// dialTimeout bounds connecting to a backend; a replica whose network is
// gone does not answer at all, and the request should move on to another.
const dialTimeout = 2 * time.Second

// backend is the state the proxy keeps per backend ID, across Applies: the
// in-flight count Drain waits on, counters, passive health, its own
// keep-alive pool and every connection open to it so a drain timeout can
// cut them. Having one pool per ID (not per address) means a new replica
// that reuses a drained one's IP:port never gets the old one's connections,
// and cutting a drained replica never hits the new one.
type backend struct {
	id   string
	addr atomic.Pointer[string]

	// accepting is false once the current config has the backend not Ready
	// or absent. A request counts itself in flight and then re-checks it,
	// so Drain, called after Apply, never misses a request that picked the
	// backend from an older snapshot.
	accepting   atomic.Bool
	inflight    atomic.Int64
	requests    atomic.Uint64
	failures    atomic.Uint64
	failedUntil atomic.Int64 // unix nanos
	drainAfter  atomic.Int64 // the DrainTimeout of the last route that had it
	// cutGen counts cuts: event loops drop connections dialed before one.
	cutGen atomic.Uint64

	idle []*backendConn // keep-alive pool, most recently used last

	// h2c is the HTTP/2 cleartext transport of h2c routes (h2c.go),
	// made on first use.
	h2c atomic.Pointer[http.Transport]

	mu      sync.Mutex
	conns   map[net.Conn]struct{} // open connections to the backend (HTTP pool and TCP)
	splices map[*splice]struct{}  // TCP mode connections
	tunnels map[*tunnel]struct{}  // upgraded (WebSocket) connections
	goneAt  time.Time             // when it left the config; zero while in it
}

func newBackend(id string) *backend {
	b := &backend{id: id, conns: map[net.Conn]struct{}{}, splices: map[*splice]struct{}{}, tunnels: map[*tunnel]struct{}{}}
	return b
}

// dialError marks a failed dial: nothing reached the backend, so any
// request may be retried on another one.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

func isDialError(err error) bool {
	var d *dialError
	return errors.As(err, &d)
}

// dial connects to the backend's current address and tracks the connection.
// The address argument from the transport is ignored on purpose: the pool
// belongs to the backend ID.
func (b *backend) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, "tcp", *b.addr.Load())
	if err != nil {
		return nil, &dialError{err}
	}
	return b.track(c), nil
}

// trackedConn removes itself from its backend's set when closed.
type trackedConn struct {
	net.Conn
	b    *backend
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.b.untrack(c) })
	return c.Conn.Close()
}

func (b *backend) track(c net.Conn) net.Conn {
	t := &trackedConn{Conn: c, b: b}
	b.mu.Lock()
	b.conns[t] = struct{}{}
	b.mu.Unlock()
	return t
}

func (b *backend) untrack(c net.Conn) {
	b.mu.Lock()
	delete(b.conns, c)
	b.mu.Unlock()
}

// cut ends every connection to the backend (and TCP clients spliced to
// it): what is still in flight after the drain timeout fails now. A
// WebSocket is ended with close frames at its next frame boundary instead
// (tunnel.goAway), within goAwayGrace. It returns how many connections it
// ended.
func (b *backend) cut() int {
	b.cutGen.Add(1)
	b.mu.Lock()
	tunnels := make([]*tunnel, 0, len(b.tunnels))
	graceful := map[net.Conn]bool{}
	for t := range b.tunnels {
		tunnels = append(tunnels, t)
		if t.ws {
			graceful[t.backend] = true
		}
	}
	var all []net.Conn
	for c := range b.conns {
		if !graceful[c] {
			all = append(all, c)
		}
	}
	var splices []*splice
	for s := range b.splices {
		splices = append(splices, s)
	}
	b.mu.Unlock()
	for _, t := range tunnels {
		t.goAway()
	}
	for _, s := range splices {
		s.abort()
	}
	for _, c := range all {
		c.Close()
	}
	b.closeIdle()
	return len(all) + len(splices) + len(graceful)
}

func (b *backend) addTunnel(t *tunnel) {
	b.mu.Lock()
	b.tunnels[t] = struct{}{}
	b.mu.Unlock()
}

func (b *backend) removeTunnel(t *tunnel) {
	b.mu.Lock()
	delete(b.tunnels, t)
	b.mu.Unlock()
}

// goAwayTunnels ends the backend's upgraded connections (tunnel.goAway)
// and returns how many there were.
func (b *backend) goAwayTunnels() int {
	b.mu.Lock()
	tunnels := make([]*tunnel, 0, len(b.tunnels))
	for t := range b.tunnels {
		tunnels = append(tunnels, t)
	}
	b.mu.Unlock()
	for _, t := range tunnels {
		t.goAway()
	}
	return len(tunnels)
}

func (b *backend) tunnelCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.tunnels)
}

func (b *backend) markFailed() {
	b.failures.Add(1)
	b.failedUntil.Store(time.Now().Add(failPause).UnixNano())
}

func (b *backend) failed(now int64) bool { return b.failedUntil.Load() > now }

// acquire counts a request/connection in flight; false when the backend
// stopped accepting since the caller's snapshot was taken.
func (b *backend) acquire() bool {
	b.inflight.Add(1)
	if !b.accepting.Load() {
		b.inflight.Add(-1)
		return false
	}
	b.requests.Add(1)
	return true
}

func (b *backend) release() { b.inflight.Add(-1) }
