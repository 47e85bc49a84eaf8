package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeExchange scripts the path-specific steps of listener.forward: what
// each send to a backend returns, what the client did, what waiting for
// backends brings.
type fakeExchange struct {
	replay bool
	sends  map[string][]error // by backend ID, one per send; none left: success
	// clientErr is the error clientFailed claims for the client, with
	// clientCode the status it answers.
	clientErr  error
	clientCode int
	gone       bool
	// wait answers waitForBackends; nil: give up at once.
	wait func(st *listenerState) (*listenerState, bool)

	sentTo   []string // backend IDs, one per send
	waits    []bool   // the pause argument of every wait
	routes   []*route // useRoute calls
	failed   int      // the status fail sent, 0 if none
	answered *backend // the backend respond copied from
}

func (f *fakeExchange) replayable() bool { return f.replay }
func (f *fakeExchange) host() string     { return "web.test" }
func (f *fakeExchange) useRoute(rt *route) {
	f.routes = append(f.routes, rt)
}
func (f *fakeExchange) clientGone() bool { return f.gone }

func (f *fakeExchange) waitForBackends(st *listenerState, _ time.Time, pause bool) (*listenerState, bool) {
	f.waits = append(f.waits, pause)
	if f.wait == nil {
		return st, false
	}
	return f.wait(st)
}

func (f *fakeExchange) send(_ *route, bc *backendConn) error {
	id := bc.b.id
	f.sentTo = append(f.sentTo, id)
	if len(f.sends[id]) == 0 {
		return nil
	}
	err := f.sends[id][0]
	f.sends[id] = f.sends[id][1:]
	return err
}

func (f *fakeExchange) clientFailed(err error) (int, bool) {
	if f.clientErr != nil && errors.Is(err, f.clientErr) {
		return f.clientCode, true
	}
	return 0, false
}

func (f *fakeExchange) respond(bc *backendConn) int {
	f.answered = bc.b
	bc.b.putConn(bc)
	bc.b.release()
	return http.StatusOK
}

func (f *fakeExchange) fail(code int, _ string) { f.failed = code }

// loopBackend is a backend whose address accepts connections (and never
// answers: the fake exchange does the talking), or refuses them.
func loopBackend(t *testing.T, id string, refuse bool) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if refuse {
		ln.Close()
	} else {
		var mu sync.Mutex
		var conns []net.Conn
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
		t.Cleanup(func() {
			ln.Close()
			<-done
			for _, c := range conns {
				c.Close()
			}
		})
	}
	b := newBackend(id)
	b.addr.Store(&addr)
	b.accepting.Store(true)
	t.Cleanup(func() { b.cut() })
	return b
}

// loopBack is a backend of a TestForwardLoop case.
type loopBack struct {
	id     string
	refuse bool
}

// loopState is a snapshot with one route for host web.test over backs,
// the first pick going to backs[0].
func loopState(backs ...*backend) *listenerState {
	rt := &route{cfg: Route{Service: "s/web"}, timeouts: resolveTimeouts(Timeouts{}), all: backs, ready: backs}
	if len(backs) > 0 {
		rt.rr.Store(uint64(len(backs) - 1))
	}
	return &listenerState{routes: []*route{rt}, byHost: map[string]*route{"web.test": rt}, changed: make(chan struct{})}
}

func noAnswer() error { return &errNoResponse{io.ErrUnexpectedEOF} }

// The policy both HTTP paths share (listener.forward), against a fake
// exchange: which backend a request goes to, when it is retried or held,
// which backend is blamed, what the client is answered, and that every
// backend it acquired is released (what Drain counts on).
func TestForwardLoop(t *testing.T) {
	errClient := errors.New("client body broke")
	type want struct {
		code     int
		sentTo   []string
		answered string   // backend ID respond got, "" for none
		blamed   []string // backends with a failure counted
		marked   []string // backends marked failed (skipped for a while)
		waits    int
		rerouted bool // the route of a new snapshot applied to the client
	}
	cases := []struct {
		name  string
		backs []loopBack
		setup func(t *testing.T, f *fakeExchange, bs map[string]*backend, st *listenerState)
		want  want
	}{
		{
			name:  "a refused connection moves on",
			backs: []loopBack{{"a", true}, {"b", false}},
			setup: func(_ *testing.T, f *fakeExchange, _ map[string]*backend, _ *listenerState) {},
			want:  want{code: 200, sentTo: []string{"b"}, answered: "b", blamed: []string{"a"}, marked: []string{"a"}},
		},
		{
			name:  "no answer to a replayable request: the next backend",
			backs: []loopBack{{"a", false}, {"b", false}},
			setup: func(_ *testing.T, f *fakeExchange, _ map[string]*backend, _ *listenerState) {
				f.sends = map[string][]error{"a": {noAnswer()}}
			},
			want: want{code: 200, sentTo: []string{"a", "b"}, answered: "b", blamed: []string{"a"}, marked: []string{"a"}},
		},
		{
			name:  "no answer anywhere: 502, not held",
			backs: []loopBack{{"a", false}, {"b", false}},
			setup: func(_ *testing.T, f *fakeExchange, _ map[string]*backend, _ *listenerState) {
				f.sends = map[string][]error{"a": {noAnswer()}, "b": {noAnswer()}}
			},
			want: want{code: 502, sentTo: []string{"a", "b"}, blamed: []string{"a", "b"}, marked: []string{"a", "b"}},
		},
		{
			name:  "no answer to a request that is not replayable: 502, no retry",
			backs: []loopBack{{"a", false}, {"b", false}},
			setup: func(_ *testing.T, f *fakeExchange, _ map[string]*backend, _ *listenerState) {
				f.replay = false
				f.sends = map[string][]error{"a": {noAnswer()}}
			},
			want: want{code: 502, sentTo: []string{"a"}, blamed: []string{"a"}},
		},
		{
			name:  "no response head in time: 504, no retry",
			backs: []loopBack{{"a", false}, {"b", false}},
			setup: func(_ *testing.T, f *fakeExchange, _ map[string]*backend, _ *listenerState) {
				f.sends = map[string][]error{"a": {&errNoResponse{os.ErrDeadlineExceeded}}}
			},
			want: want{code: 504, sentTo: []string{"a"}, blamed: []string{"a"}},
		},
		{
			name:  "the client's failure blames no backend",
			backs: []loopBack{{"a", false}, {"b", false}},
			setup: func(_ *testing.T, f *fakeExchange, _ map[string]*backend, _ *listenerState) {
				f.replay = false
				f.clientErr, f.clientCode = errClient, http.StatusRequestTimeout
				f.sends = map[string][]error{"a": {&bodyError{errClient}}}
			},
			want: want{code: 408, sentTo: []string{"a"}},
		},
		{
			name:  "a stale pooled connection: tried again on the same backend",
			backs: []loopBack{{"a", false}},
			setup: func(t *testing.T, f *fakeExchange, bs map[string]*backend, _ *listenerState) {
				bc, _, err := bs["a"].getConn(context.Background(), false)
				if err != nil {
					t.Fatal(err)
				}
				bs["a"].putConn(bc)
				f.sends = map[string][]error{"a": {noAnswer()}}
			},
			want: want{code: 200, sentTo: []string{"a", "a"}, answered: "a"},
		},
		{
			name:  "a backend that stopped accepting is skipped",
			backs: []loopBack{{"a", false}, {"b", false}},
			setup: func(_ *testing.T, _ *fakeExchange, bs map[string]*backend, _ *listenerState) {
				bs["a"].accepting.Store(false)
			},
			want: want{code: 200, sentTo: []string{"b"}, answered: "b"},
		},
		{
			name:  "no backend: held, then 503",
			setup: func(_ *testing.T, _ *fakeExchange, _ map[string]*backend, _ *listenerState) {},
			want:  want{code: 503, waits: 1},
		},
		{
			name: "the client leaves while held: 499, no answer",
			setup: func(_ *testing.T, f *fakeExchange, _ map[string]*backend, _ *listenerState) {
				f.gone = true
			},
			want: want{code: 499, waits: 1},
		},
		{
			name:  "every connection refused: held with pauses, then 502",
			backs: []loopBack{{"a", true}},
			setup: func(_ *testing.T, f *fakeExchange, _ map[string]*backend, _ *listenerState) {
				n := 0
				f.wait = func(st *listenerState) (*listenerState, bool) {
					n++
					return st, n < 3
				}
			},
			want: want{code: 502, blamed: []string{"a"}, marked: []string{"a"}, waits: 3},
		},
		{
			name: "held until a backend is ready",
			setup: func(t *testing.T, f *fakeExchange, _ map[string]*backend, _ *listenerState) {
				next := loopState(loopBackend(t, "c", false))
				f.wait = func(*listenerState) (*listenerState, bool) { return next, true }
			},
			want: want{code: 200, sentTo: []string{"c"}, answered: "c", waits: 1, rerouted: true},
		},
		{
			name: "the route is gone while held: 404",
			setup: func(_ *testing.T, f *fakeExchange, _ map[string]*backend, _ *listenerState) {
				next := &listenerState{changed: make(chan struct{})}
				f.wait = func(*listenerState) (*listenerState, bool) { return next, true }
			},
			want: want{code: 404, waits: 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bs := map[string]*backend{}
			var backs []*backend
			for _, b := range tc.backs {
				bs[b.id] = loopBackend(t, b.id, b.refuse)
				backs = append(backs, bs[b.id])
			}
			st := loopState(backs...)
			f := &fakeExchange{replay: true}
			tc.setup(t, f, bs, st)
			l := &listener{p: &Proxy{holdTimeout: time.Minute, log: slog.New(slog.DiscardHandler)}}

			code := l.forward(context.Background(), f, st, st.routes[0], prior{})

			w := tc.want
			if code != w.code {
				t.Errorf("status %d, want %d", code, w.code)
			}
			if !slices.Equal(f.sentTo, w.sentTo) {
				t.Errorf("sent to %v, want %v", f.sentTo, w.sentTo)
			}
			answered := ""
			if f.answered != nil {
				answered = f.answered.id
			}
			if answered != w.answered {
				t.Errorf("answered from %q, want %q", answered, w.answered)
			}
			// An answer is either the response or an error, never both;
			// nothing at all when the client is gone or the fake claimed
			// the failure for the client (it answers then).
			wantFail := w.answered == "" && w.code != 499 && w.code != f.clientCode
			if (f.failed != 0) != wantFail || wantFail && f.failed != w.code {
				t.Errorf("error answer %d, want one: %v", f.failed, wantFail)
			}
			if len(f.waits) != w.waits {
				t.Errorf("waited %d times, want %d", len(f.waits), w.waits)
			}
			for i, pause := range f.waits {
				// After a failure the wait is a short pause, not the
				// whole hold.
				if want := len(tc.backs) > 0; pause != want {
					t.Errorf("wait %d: pause %v, want %v", i, pause, want)
				}
			}
			if (len(f.routes) == 1) != w.rerouted || len(f.routes) > 1 {
				t.Errorf("useRoute called %d times, want rerouted %v", len(f.routes), w.rerouted)
			}
			now := time.Now().UnixNano()
			for id, b := range bs {
				if n := b.inflight.Load(); n != 0 {
					t.Errorf("backend %s: %d in flight after the request", id, n)
				}
				if got, want := b.failures.Load() > 0, slices.Contains(w.blamed, id); got != want {
					t.Errorf("backend %s: failures %d, want blamed %v", id, b.failures.Load(), want)
				}
				if got, want := b.failed(now), slices.Contains(w.marked, id); got != want {
					t.Errorf("backend %s: marked failed %v, want %v", id, got, want)
				}
			}
		})
	}
}
