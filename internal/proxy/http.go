package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
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
	if r.TLS == nil {
		if pc, ok := r.Context().Value(connKey{}).(*prefixConn); ok {
			r.TLS = pc.tls // a TLS connection the fast path delegated
		}
	}
	st := l.state.Load()
	if st.mode != ModeHTTP {
		http.Error(w, "listener is no longer in http mode", http.StatusServiceUnavailable)
		return
	}
	if st.challenges && isACMEChallenge(r.URL.Path) {
		if m := l.p.acme.Load(); m != nil && m.serveChallenge(w, r) {
			return
		}
	}
	rt := st.route(r.Host)
	if rt == nil {
		notFound(w, r.Host)
		return
	}
	if rt.redirect > 0 && !st.tls {
		code := redirectHTTPS(w, r, rt.redirect)
		if rt.m != nil {
			rt.m.code(code).Inc()
		}
		return
	}
	if st.hsts != nil {
		w.Header()["Strict-Transport-Security"] = st.hsts
	}
	m := rt.m
	var start time.Time
	if m != nil {
		start = time.Now()
		m.inflight.Inc()
	}
	code := l.forwardNet(w, r, st, rt)
	if m != nil {
		m.inflight.Dec()
		m.code(code).Inc()
		m.duration.Observe(time.Since(start).Seconds())
	}
}

// redirectHTTPS answers a plain-HTTP request with a permanent redirect
// (308: the method and body stay) to the same URL over https on port.
func redirectHTTPS(w http.ResponseWriter, r *http.Request, port int) int {
	host := normalizeHost(r.Host)
	if host == "" {
		http.Error(w, "no Host to redirect to https", http.StatusBadRequest)
		return http.StatusBadRequest
	}
	if port != 443 {
		host = net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))
	}
	w.Header().Set("Connection", "close")
	http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	return http.StatusPermanentRedirect
}

func notFound(w http.ResponseWriter, host string) {
	http.Error(w, fmt.Sprintf("no service for host %q", host), http.StatusNotFound)
}

// forwardNet prepares the request for its backend and forwards it
// (listener.forward, or forwardUpgrade for a protocol switch); it returns
// the status code sent to the client (499 when the client left).
func (l *listener) forwardNet(w http.ResponseWriter, r *http.Request, st *listenerState, rt *route) int {
	te := rt.h2c && hasToken(r.Header["Te"], "trailers")
	prepareHeaders(r)
	if isUpgrade(r) {
		return l.forwardUpgrade(w, r, st, rt)
	}
	ctx := r.Context()
	e := netExchangePool.Get().(*netExchange)
	*e = netExchange{l: l, w: w, r: r, ctx: ctx}
	defer func() {
		*e = netExchange{}
		netExchangePool.Put(e)
	}()
	var rc *http.ResponseController
	if r.ProtoMajor == 2 {
		// Many streams share an HTTP/2 connection: its deadlines are not
		// one request's to set. The timeouts apply per stream instead.
		rc = http.NewResponseController(w)
		e.sw = &streamWriter{ResponseWriter: w, rc: rc}
		e.w = e.sw
	} else {
		e.tc = timedConnOf(ctx)
	}
	e.useRoute(rt)
	if r.Body != nil && r.Body != http.NoBody {
		e.cb = newClientBody(r.Body, e.tc, rt.timeouts.readBody)
		if rc != nil {
			e.cb.stream, e.cb.timeout = rc, rt.timeouts.readBody
		}
		defer e.cb.done()
		e.body = e.cb
	}
	if rt.h2c {
		if te {
			// The one TE an HTTP/2 request may carry (gRPC servers
			// want it): the client's announcement that it takes trailers.
			r.Header["Te"] = teTrailers
		}
		return l.forwardH2C(e, st, rt)
	}
	return l.forward(ctx, e, st, rt, prior{})
}

// netExchange is a request net/http serves, as listener.forward carries
// it (see exchange).
type netExchange struct {
	l    *listener
	w    http.ResponseWriter
	r    *http.Request
	ctx  context.Context
	tc   *timedConn    // nil: no per-route timeouts on the client connection (or HTTP/2: sw)
	sw   *streamWriter // HTTP/2: w with the route's write timeout per stream; nil otherwise
	cb   *clientBody   // nil without a request body
	body io.Reader     // cb, or nil: a nil *clientBody is not a nil io.Reader

	resp *http.Response // read by send
	stop func() bool    // ends the client-gone watch send started
}

// netExchangePool saves an allocation per request: passed as an
// exchange, a netExchange would escape to the heap.
var netExchangePool = sync.Pool{New: func() any { return new(netExchange) }}

func (e *netExchange) replayable() bool {
	m := e.r.Method
	return e.body == nil && (m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions)
}

func (e *netExchange) host() string { return e.r.Host }

func (e *netExchange) useRoute(rt *route) {
	if e.tc != nil {
		e.tc.writeTimeout.Store(int64(rt.timeouts.write))
	}
	if e.sw != nil {
		e.sw.timeout = rt.timeouts.write
	}
}

// streamWriter is an HTTP/2 stream's ResponseWriter with a write timeout
// renewed before every write, like timedConn's for a whole connection.
type streamWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (w *streamWriter) Write(p []byte) (int, error) {
	if w.timeout > 0 {
		w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
	return w.ResponseWriter.Write(p)
}

func (w *streamWriter) Flush() {
	if w.timeout > 0 {
		w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
	w.rc.Flush()
}

func (w *streamWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (e *netExchange) waitForBackends(st *listenerState, deadline time.Time, pause bool) (*listenerState, bool) {
	return e.l.p.waitForBackends(e.ctx, st, e.l, deadline, pause)
}

func (e *netExchange) clientGone() bool { return e.ctx.Err() != nil }

func (e *netExchange) send(rt *route, bc *backendConn) error {
	e.stop = context.AfterFunc(e.ctx, bc.abort)
	resp, err := bc.roundTrip(e.r, e.body, rt.timeouts.responseHeader)
	if e.cb != nil {
		e.cb.done()
	}
	if err != nil {
		e.stop()
		return err
	}
	e.resp = resp
	return nil
}

func (e *netExchange) clientFailed(error) (int, bool) {
	if e.cb != nil && e.cb.err != nil {
		// Checked first: a failed read of the body cancels ctx.
		return clientBodyFailed(e.w, e.cb.err, e.sw == nil), true
	}
	if e.ctx.Err() != nil {
		return 499, true
	}
	return 0, false
}

func (e *netExchange) respond(bc *backendConn) int {
	if e.ctx.Err() != nil {
		bc.abort() // the client left as roundTrip cleared the deadline
	}
	return copyResponse(e.w, e.resp, bc, e.stop)
}

func (e *netExchange) fail(code int, msg string) { http.Error(e.w, msg, code) }

// clientBodyFailed answers a request whose body the client failed to
// send: 408 when it stalled past the body read timeout, 400 when it was
// malformed (bad chunked framing), nothing when the client left. The
// backend is not to blame; an HTTP/1 connection closes (the stream is
// unframed), an HTTP/2 one goes on: only the request's stream ends
// (closeConn false; Go's HTTP/2 server would take "Connection: close" as
// a shutdown of every stream).
func clientBodyFailed(w http.ResponseWriter, err error, closeConn bool) int {
	if closeConn {
		w.Header().Set("Connection", "close")
	}
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
	copyResponseHeader(h, resp.Header)
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

// copyResponseHeader adds a backend's response header to the client's,
// hop-by-hop headers left out.
func copyResponseHeader(h, from http.Header) {
	for k, v := range from {
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
}

// waitForBackends waits until the listener gets a new snapshot, or (after
// every Ready backend failed) a short pause passes, or the deadline, the
// listener closing or ctx. It returns the current snapshot and false when
// the caller should give up.
func (p *Proxy) waitForBackends(ctx context.Context, st *listenerState, l *listener, deadline time.Time, pause bool) (*listenerState, bool) {
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
