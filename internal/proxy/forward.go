package proxy

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// exchange is one HTTP request as one of the two HTTP paths carries it:
// the fast path (fastConn, h1forward.go) or net/http's (netExchange,
// http.go). listener.forward holds the policy: which backend, how long to
// hold, when to retry, whom to blame; the exchange does the single steps
// that depend on how the client connection is served.
type exchange interface {
	// replayable reports whether the request may be sent again after it
	// got no answer: a GET, HEAD or OPTIONS without a body.
	replayable() bool
	// host is the request's Host header, routed again on a new snapshot.
	host() string
	// useRoute applies the route's settings to the client connection.
	useRoute(rt *route)
	// waitForBackends is Proxy.waitForBackends with the client watched:
	// false when the request should stop waiting.
	waitForBackends(st *listenerState, deadline time.Time, pause bool) (*listenerState, bool)
	// clientGone reports whether the client has left.
	clientGone() bool
	// send writes the request on bc and reads the response head; its
	// errors are the client's (see clientFailed) or the backend's: those
	// wrapped in errNoResponse left the backend silent.
	send(rt *route, bc *backendConn) error
	// clientFailed reports, after send failed with err, whether the
	// client caused it (its body stalled or broke, it left); then it has
	// answered the client if that is still possible, and code is the
	// status to count. The backend is not to blame then.
	clientFailed(err error) (code int, ok bool)
	// respond streams the response send read to the client, then pools
	// or closes bc and releases its backend; it returns the status sent
	// (499 when the client left).
	respond(bc *backendConn) int
	// fail answers the client with code and a one-line text.
	fail(code int, msg string)
}

// forward sends the request of e to one of rt's backends and the answer
// back, the same way on both HTTP paths: pick a Ready backend not tried
// yet, hold the request (up to holdTimeout) while there is none, count it
// in flight on the backend (what Drain waits on) for as long as it uses
// it, and retry on another backend when that is safe (see attempts). It
// returns the status sent to the client, 499 when the client left. ctx
// bounds dialing a backend. from carries an event loop's failed try.
func (l *listener) forward(ctx context.Context, e exchange, st *listenerState, rt *route, from prior) int {
	replayable := e.replayable()
	a, lastErr := from.a, from.err
	var deadline time.Time
	for {
		b, idx := rt.pick(a.tried)
		if b == nil {
			if a.sentFailed {
				return badGateway(e, rt, lastErr)
			}
			var code int
			if st, rt, code = l.awaitBackend(e, st, rt, &a, &deadline, lastErr); code != 0 {
				return code
			}
			continue
		}
		if !b.acquire() {
			a.skip(idx)
			continue
		}
		// Non-replayable requests only go on connections known to be open.
		bc, reused, err := b.getConn(ctx, !replayable)
		if err != nil {
			// Nothing was sent: any request may go elsewhere.
			b.release()
			if e.clientGone() {
				return 499
			}
			lastErr = err
			a.notSent(b, idx)
			l.retried(rt, b, err)
			continue
		}
		if err := e.send(rt, bc); err != nil {
			bc.close()
			b.release()
			if code, ok := e.clientFailed(err); ok {
				return code // the client's fault, not the backend's
			}
			lastErr = err
			if isTimeout(err) && isNoResponse(err) {
				// Sent, and no answer within the response header timeout:
				// not retried (it would double the wait).
				b.failures.Add(1)
				e.fail(http.StatusGatewayTimeout, "gateway timeout: "+rt.cfg.Service+": no response from backend")
				return http.StatusGatewayTimeout
			}
			if !isNoResponse(err) || !replayable {
				// A request body cut short, or a response that broke
				// off: not safe to send again.
				b.failures.Add(1)
				return badGateway(e, rt, err)
			}
			a.noAnswer(b, idx, reused)
			l.retried(rt, b, err)
			continue
		}
		return e.respond(bc)
	}
}

// awaitBackend is the wait of a request whose route has no backend left
// to try: it holds the request (up to holdTimeout from its first wait)
// until the listener's snapshot changes, and returns the new snapshot and
// the request's route in it, or the status it answered with (non-zero)
// when the wait ended without one: the client left, the hold timed out,
// the host is no longer routed.
func (l *listener) awaitBackend(e exchange, st *listenerState, rt *route, a *attempts, deadline *time.Time, lastErr error) (*listenerState, *route, int) {
	if deadline.IsZero() {
		*deadline = time.Now().Add(l.p.holdTimeout)
	}
	next, ok := e.waitForBackends(st, *deadline, a.tried != 0)
	if !ok {
		if e.clientGone() {
			return st, rt, 499
		}
		if lastErr != nil {
			return st, rt, badGateway(e, rt, lastErr)
		}
		e.fail(http.StatusServiceUnavailable, "no ready backend for "+rt.cfg.Service)
		return st, rt, http.StatusServiceUnavailable
	}
	if next != st {
		st = next
		host := e.host()
		if rt = st.route(host); rt == nil {
			e.fail(http.StatusNotFound, fmt.Sprintf("no service for host %q", host))
			return st, rt, http.StatusNotFound
		}
		e.useRoute(rt)
	}
	a.tried = 0
	return st, rt, 0
}

func (l *listener) retried(rt *route, b *backend, err error) {
	if rt.m != nil {
		rt.m.retries.Inc()
	}
	l.p.log.Debug("proxy: backend failed, retrying", "service", rt.cfg.Service, "backend", b.id, "err", err)
}

func badGateway(e exchange, rt *route, err error) int {
	msg := "bad gateway: " + rt.cfg.Service
	if err != nil {
		msg += ": backend failed"
	}
	e.fail(http.StatusBadGateway, msg)
	return http.StatusBadGateway
}
