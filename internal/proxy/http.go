package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"syscall"
	"time"
)

// holdTimeout is how long a request or connection waits for a Ready (or
// reachable) backend before the proxy gives up: long enough for a replica
// to restart, short enough for clients not to hang.
const holdTimeout = 10 * time.Second

// retryPause is the wait before trying again when every Ready backend just
// refused a connection.
const retryPause = 100 * time.Millisecond

// Hop-by-hop headers (RFC 9110 7.6.1) are about one connection and are not
// forwarded.
var hopHeaders = [...]string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
	// Expect is answered by the proxy's own server when it reads the body.
	"Expect",
}

// Shared read-only header values; the transport only reads headers.
var (
	protoHTTP  = []string{"http"}
	protoHTTPS = []string{"https"}
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// ServeHTTP serves TLS connections and the connections the fast path
// (h1server.go) hands over: route by Host, pick a backend, forward, and
// retry on another backend when that is safe.
func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := l.state.Load()
	if st.mode != ModeHTTP {
		http.Error(w, "listener is no longer in http mode", http.StatusServiceUnavailable)
		return
	}
	rt := st.route(r.Host)
	if rt == nil {
		notFound(w, r.Host)
		return
	}
	m := rt.m
	var start time.Time
	if m != nil {
		start = time.Now()
		m.inflight.Inc()
	}
	code := l.forward(w, r, st, rt)
	if m != nil {
		m.inflight.Dec()
		m.code(code).Inc()
		m.duration.Observe(time.Since(start).Seconds())
	}
}

func notFound(w http.ResponseWriter, host string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintf(w, "no service for host %q\n", host)
}

// forward sends the request to a backend and copies the answer back; it
// returns the status code sent to the client (499 when the client left).
func (l *listener) forward(w http.ResponseWriter, r *http.Request, st *listenerState, rt *route) int {
	prepareHeaders(r)
	if isUpgrade(r) {
		return l.forwardUpgrade(w, r, st, rt)
	}
	ctx := r.Context()
	tc := timedConnOf(ctx)
	if tc != nil {
		tc.writeTimeout.Store(int64(rt.timeouts.write))
	}
	var body io.Reader
	var cb *clientBody
	if r.Body != nil && r.Body != http.NoBody {
		cb = newClientBody(r.Body, tc, rt.timeouts.readBody)
		defer cb.done()
		body = cb
	}
	replayable := body == nil && (r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions)

	var a attempts
	var deadline time.Time
	var lastErr error
	for {
		b, idx := rt.pick(a.tried)
		if b == nil {
			if a.sentFailed {
				return badGateway(w, rt, lastErr)
			}
			if deadline.IsZero() {
				deadline = time.Now().Add(l.p.holdTimeout)
			}
			next, ok := l.p.waitForBackends(st, l, deadline, a.tried != 0, ctx)
			if !ok {
				if ctx.Err() != nil {
					return 499
				}
				if lastErr != nil {
					return badGateway(w, rt, lastErr)
				}
				http.Error(w, "no ready backend for "+rt.cfg.Service, http.StatusServiceUnavailable)
				return http.StatusServiceUnavailable
			}
			if next != st {
				st = next
				if rt = st.route(r.Host); rt == nil {
					notFound(w, r.Host)
					return http.StatusNotFound
				}
				if tc != nil {
					tc.writeTimeout.Store(int64(rt.timeouts.write))
				}
			}
			a.tried = 0
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
			if ctx.Err() != nil {
				return 499
			}
			lastErr = err
			a.notSent(b, idx)
			l.retried(rt, b, err)
			continue
		}
		stop := context.AfterFunc(ctx, bc.abort)
		resp, err := bc.roundTrip(r, body, rt.timeouts.responseHeader)
		if cb != nil {
			cb.done()
		}
		if err != nil {
			stop()
			bc.close()
			b.release()
			if cb != nil && cb.err != nil {
				// Checked first: a failed read of the body cancels ctx.
				return clientBodyFailed(w, cb.err)
			}
			if ctx.Err() != nil {
				return 499
			}
			lastErr = err
			if isTimeout(err) && isNoResponse(err) {
				// Sent, and no answer within the response header timeout:
				// not retried (it would double the wait).
				b.failures.Add(1)
				http.Error(w, "gateway timeout: "+rt.cfg.Service+": no response from backend", http.StatusGatewayTimeout)
				return http.StatusGatewayTimeout
			}
			if !isNoResponse(err) || !replayable {
				b.failures.Add(1)
				return badGateway(w, rt, err)
			}
			a.noAnswer(b, idx, reused)
			l.retried(rt, b, err)
			continue
		}
		if ctx.Err() != nil {
			bc.abort() // the client left as roundTrip cleared the deadline
		}
		return copyResponse(w, resp, bc, stop)
	}
}

func (l *listener) retried(rt *route, b *backend, err error) {
	if rt.m != nil {
		rt.m.retries.Inc()
	}
	l.p.log.Debug("proxy: backend failed, retrying", "service", rt.cfg.Service, "backend", b.id, "err", err)
}

// clientBodyFailed answers a request whose body the client failed to
// send: 408 when it stalled past the body read timeout, 400 when it was
// malformed (bad chunked framing), nothing when the client left. The
// backend is not to blame; the connection closes (the stream is unframed).
func clientBodyFailed(w http.ResponseWriter, err error) int {
	w.Header().Set("Connection", "close")
	switch {
	case isTimeout(err):
		http.Error(w, "request body timeout", http.StatusRequestTimeout)
		return http.StatusRequestTimeout
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNRESET):
		return 499 // the client left
	}
	http.Error(w, "bad request body", http.StatusBadRequest)
	return http.StatusBadRequest
}

func badGateway(w http.ResponseWriter, rt *route, err error) int {
	msg := "bad gateway: " + rt.cfg.Service
	if err != nil {
		msg += ": backend failed"
	}
	http.Error(w, msg, http.StatusBadGateway)
	return http.StatusBadGateway
}

// prepareHeaders edits the incoming request's headers in place (the
// request is ours until the handler returns): hop-by-hop headers out,
// X-Forwarded-* in.
func prepareHeaders(r *http.Request) {
	h := r.Header
	conn := h["Connection"]
	upgrade := ""
	if u := h.Get("Upgrade"); u != "" && hasToken(conn, "upgrade") {
		upgrade = u
	}
	for _, v := range conn {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, k := range hopHeaders {
		if _, ok := h[k]; ok {
			delete(h, k)
		}
	}
	if upgrade != "" {
		// Keep the protocol switch itself; forwardUpgrade passes it on.
		h["Connection"] = []string{"Upgrade"}
		h["Upgrade"] = []string{upgrade}
	}
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior, ok := h["X-Forwarded-For"]; ok && len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		h["X-Forwarded-For"] = []string{ip}
	}
	if r.TLS != nil {
		h["X-Forwarded-Proto"] = protoHTTPS
	} else {
		h["X-Forwarded-Proto"] = protoHTTP
	}
	h["X-Forwarded-Host"] = []string{r.Host}
}

func hasToken(values []string, token string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func isUpgrade(r *http.Request) bool { return r.Header.Get("Upgrade") != "" }

// copyResponse streams the backend's answer to the client, flushing after
// every read so streamed responses are not held back, then returns the
// connection to the pool (when the body was read completely) and releases
// the backend. stop ends the client-gone watch on the connection.
func copyResponse(w http.ResponseWriter, resp *http.Response, bc *backendConn, stop func() bool) int {
	b := bc.b
	defer b.release()
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	if c, ok := h["Connection"]; ok {
		for _, v := range c {
			for _, name := range strings.Split(v, ",") {
				h.Del(strings.TrimSpace(name))
			}
		}
	}
	for _, k := range hopHeaders {
		if _, ok := h[k]; ok {
			delete(h, k)
		}
	}
	w.WriteHeader(resp.StatusCode)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	fl, _ := w.(http.Flusher)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				stop()
				bc.close()
				return 499 // the client left
			}
			if fl != nil && (rerr == nil || resp.ContentLength < 0) {
				fl.Flush()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			// The backend died mid-body: the status line is out, so the
			// only honest signal left is to break the client connection.
			stop()
			bc.close()
			b.failures.Add(1)
			panic(http.ErrAbortHandler)
		}
	}
	resp.Body.Close()
	for k, v := range resp.Trailer {
		h[http.TrailerPrefix+k] = v
	}
	if stop() && !resp.Close {
		b.putConn(bc)
	} else {
		bc.close()
	}
	return resp.StatusCode
}

// forwardUpgrade hands protocol switches (WebSocket) to httputil's reverse
// proxy, which splices the upgraded connection. No retries: an upgrade
// is rare and usually not idempotent.
func (l *listener) forwardUpgrade(w http.ResponseWriter, r *http.Request, st *listenerState, rt *route) int {
	b, _ := rt.pick(0)
	if b == nil || !b.acquire() {
		http.Error(w, "no ready backend for "+rt.cfg.Service, http.StatusServiceUnavailable)
		return http.StatusServiceUnavailable
	}
	defer b.release()
	code := http.StatusSwitchingProtocols
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = *b.addr.Load()
			pr.Out.Host = pr.In.Host
			// Rewrite drops X-Forwarded-*; the incoming ones are ours.
			for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"} {
				pr.Out.Header[k] = pr.In.Header[k]
			}
		},
		Transport: b.transport,
		ModifyResponse: func(resp *http.Response) error {
			code = resp.StatusCode
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				code = 499 // the client left: not the backend's failure
				return
			}
			b.markFailed()
			code = http.StatusBadGateway
			http.Error(w, "bad gateway: "+rt.cfg.Service, http.StatusBadGateway)
		},
		ErrorLog: nil,
	}
	rp.ServeHTTP(w, r)
	return code
}

// waitForBackends waits until the listener gets a new snapshot, or (after
// every Ready backend failed) a short pause passes, or the deadline, the
// listener closing or ctx. It returns the current snapshot and false when
// the caller should give up.
func (p *Proxy) waitForBackends(st *listenerState, l *listener, deadline time.Time, pause bool, ctx context.Context) (*listenerState, bool) {
	if cur := l.state.Load(); cur != st {
		return cur, true // changed while we were busy
	}
	wait := time.Until(deadline)
	if wait <= 0 {
		return st, false
	}
	if pause && wait > retryPause {
		wait = retryPause
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	select {
	case <-st.changed:
		return l.state.Load(), true
	case <-t.C:
		return l.state.Load(), time.Now().Before(deadline)
	case <-ctx.Done():
		return st, false
	case <-l.closed:
		return st, false
	}
}
