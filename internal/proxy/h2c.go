package proxy

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Routes with BackendProtocol h2c speak HTTP/2 in clear text (prior
// knowledge) to their backends: what gRPC servers speak. Their requests
// always go through net/http (the fast path hands them over, see
// listenerState.intercepts), and are forwarded by net/http's Transport
// with only unencrypted HTTP/2 enabled, one per backend, so many streams
// share one connection per backend. Request and response bodies stream
// both ways at once (a bidirectional gRPC call), every piece of the
// answer is flushed to the client as it comes, the backend's trailers
// (gRPC's status) are passed on, and a client that cancels or leaves
// resets its stream on the backend too. Like the HTTP/1.1 path, a request
// counts in flight on its backend for as long as it uses it (what Drain
// waits on), waits up to holdTimeout while no backend is ready and goes
// to another backend when connecting failed; once anything may have been
// sent it is not retried (a gRPC call is not known to be idempotent).

// teTrailers is the TE value passed on to h2c backends.
var teTrailers = []string{"trailers"}

// errResponseHeaderTimeout cancels an h2c request whose backend sent no
// response head within the route's response header timeout.
var errResponseHeaderTimeout = errors.New("no response head within the response header timeout")

// h2cTransport returns the backend's HTTP/2 cleartext transport, made on
// first use. Its connections are dialed by b.dial, so they are tracked
// (a drain timeout cuts them) and always go to the backend's current
// address.
func (b *backend) h2cTransport() *http.Transport {
	if t := b.h2c.Load(); t != nil {
		return t
	}
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	t := &http.Transport{
		DialContext:        b.dial,
		Protocols:          &protos,
		DisableCompression: true, // pass bodies through untouched
		IdleConnTimeout:    idleTimeout,
		HTTP2: &http.HTTP2Config{
			// A backend whose network is gone is found by a ping, not
			// by the streams on the connection hanging.
			SendPingTimeout: 30 * time.Second,
			PingTimeout:     15 * time.Second,
		},
	}
	if !b.h2c.CompareAndSwap(nil, t) {
		return b.h2c.Load()
	}
	return t
}

// forwardH2C is listener.forward for h2c routes: pick a Ready backend,
// hold while there is none, count the request in flight, send it over
// HTTP/2 and stream the answer back; retry on another backend only when
// connecting failed. It returns the status sent (499 when the client
// left).
func (l *listener) forwardH2C(e *netExchange, st *listenerState, rt *route) int {
	if e.r.ProtoMajor == 1 {
		// The backend may answer before it has read the whole request
		// body (a gRPC stream does); HTTP/1.1 clients then keep sending.
		_ = http.NewResponseController(e.w).EnableFullDuplex()
	}
	start := time.Now()
	var a attempts
	var deadline time.Time
	var lastErr error
	for {
		b, idx := rt.pick(a.tried)
		if b == nil {
			var code int
			if st, rt, code = l.awaitBackend(e, st, rt, &a, &deadline, lastErr); code != 0 {
				return code
			}
			if !rt.h2c {
				// The service went back to HTTP/1.1 meanwhile.
				delete(e.r.Header, "Te")
				return l.forward(e.ctx, e, st, rt, prior{})
			}
			continue
		}
		if !b.acquire() {
			a.skip(idx)
			continue
		}
		resp, cancel, err := sendH2C(e, rt, b)
		if err != nil {
			b.release()
			if code, ok := e.clientFailed(err); ok {
				return code // the client's fault, not the backend's
			}
			lastErr = err
			if errors.Is(err, errResponseHeaderTimeout) {
				b.failures.Add(1)
				e.fail(http.StatusGatewayTimeout, "gateway timeout: "+rt.cfg.Service+": no response from backend")
				return http.StatusGatewayTimeout
			}
			if isDialError(err) {
				// Nothing was sent: any request may go elsewhere.
				a.notSent(b, idx)
				l.retried(rt, b, err)
				continue
			}
			b.failures.Add(1)
			l.p.log.Debug("proxy: h2c backend failed", "service", rt.cfg.Service, "backend", b.id, "err", err)
			return badGateway(e, rt, err)
		}
		return streamResponse(e, resp, b, start, cancel)
	}
}

// sendH2C sends the request to b and waits for the response head, at
// most the route's response header timeout. The returned cancel ends the
// backend stream; call it once the answer is copied.
func sendH2C(e *netExchange, rt *route, b *backend) (*http.Response, context.CancelFunc, error) {
	r := e.r
	ctx, cancel := context.WithCancelCause(e.ctx)
	out := &http.Request{
		Method: r.Method,
		URL: &url.URL{Scheme: "http", Host: *b.addr.Load(), Path: r.URL.Path, RawPath: r.URL.RawPath,
			RawQuery: r.URL.RawQuery},
		Proto: "HTTP/2.0", ProtoMajor: 2,
		Header:        r.Header,
		Host:          r.Host,
		ContentLength: r.ContentLength,
		Trailer:       r.Trailer,
	}
	if e.body != nil {
		// The transport closes the body it is given; the client's is
		// the server's to close.
		out.Body = io.NopCloser(e.body)
	} else {
		out.ContentLength = 0
	}
	out = out.WithContext(ctx)
	timer := time.AfterFunc(rt.timeouts.responseHeader, func() { cancel(errResponseHeaderTimeout) })
	resp, err := b.h2cTransport().RoundTrip(out)
	if !timer.Stop() && err == nil {
		// The head came as the timeout passed: the stream is cancelled.
		resp.Body.Close()
		err = errResponseHeaderTimeout
	}
	if err != nil {
		if context.Cause(ctx) == errResponseHeaderTimeout && e.ctx.Err() == nil {
			err = errResponseHeaderTimeout
		}
		cancel(nil)
		return nil, nil, err
	}
	return resp, func() { cancel(nil) }, nil
}

// streamResponse copies the backend's answer to the client as it comes:
// the head (flushed at once unless the answer is empty, so a gRPC
// "trailers-only" answer stays one HEADERS frame), every piece of the
// body flushed, then the trailers. It releases b and returns the status
// sent (499 when the client left). cancel ends the backend stream.
func streamResponse(e *netExchange, resp *http.Response, b *backend, start time.Time, cancel context.CancelFunc) int {
	defer closeIdleH2C(b)
	defer b.release()
	defer cancel()
	defer resp.Body.Close()
	w := e.w
	h := w.Header()
	copyResponseHeader(h, resp.Header)
	if len(resp.Trailer) > 0 {
		// Announced trailers are announced on; an HTTP/1.1 client gets
		// them only in a chunked answer, so no Content-Length.
		for k := range resp.Trailer {
			h.Add("Trailer", k)
		}
		delete(h, "Content-Length")
	}
	w.WriteHeader(resp.StatusCode)
	fl, _ := w.(http.Flusher)
	if fl != nil && resp.ContentLength != 0 {
		fl.Flush()
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return 499 // the client left; closing the body resets the backend stream
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if e.ctx.Err() != nil {
				return 499 // the client cancelled: the backend stream was reset
			}
			if grpcFailed(h, resp, e.r, start) {
				return resp.StatusCode
			}
			// The backend reset the stream or died: the head is out, so
			// the only honest signal left is to reset the client's
			// stream (HTTP/2) or break its connection.
			b.failures.Add(1)
			panic(http.ErrAbortHandler)
		}
	}
	// Trailers, announced or not (gRPC does not announce its status).
	for k, v := range resp.Trailer {
		h[http.TrailerPrefix+k] = v
	}
	return resp.StatusCode
}

// closeIdleH2C closes b's HTTP/2 connections once they carry no stream
// when b is on its way out: Apply's closeIdle spared those busy then, and
// an HTTP/2 connection is never put back into a pool (putConn) where the
// HTTP/1.1 path closes its own.
func closeIdleH2C(b *backend) {
	if !b.accepting.Load() {
		if t := b.h2c.Load(); t != nil {
			t.CloseIdleConnections()
		}
	}
}

// grpcFailed ends a gRPC answer whose backend stream broke after the head
// was sent the way gRPC ends calls, with a status in the trailers (the
// proxy's HTTP/2 server could only reset the client's stream with
// INTERNAL_ERROR): DEADLINE_EXCEEDED when the call's grpc-timeout has
// passed since the proxy got it (a gRPC server resets its streams at the
// deadline), UNAVAILABLE otherwise. false: not a gRPC answer.
func grpcFailed(h http.Header, resp *http.Response, r *http.Request, start time.Time) bool {
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/grpc") {
		return false
	}
	code, msg := "14", "berth proxy: the backend's stream failed" // UNAVAILABLE
	if d, ok := parseGRPCTimeout(r.Header.Get("Grpc-Timeout")); ok && time.Since(start) >= d {
		code, msg = "4", "deadline exceeded" // DEADLINE_EXCEEDED
	}
	h[http.TrailerPrefix+"Grpc-Status"] = []string{code}
	h[http.TrailerPrefix+"Grpc-Message"] = []string{msg}
	return true
}

// parseGRPCTimeout reads a grpc-timeout header: at most 8 digits and a
// unit (H, M, S, m, u, n). Timeouts past time.Duration's range are
// reported as not set.
func parseGRPCTimeout(v string) (time.Duration, bool) {
	if len(v) < 2 || len(v) > 9 {
		return 0, false
	}
	var unit time.Duration
	switch v[len(v)-1] {
	case 'H':
		unit = time.Hour
	case 'M':
		unit = time.Minute
	case 'S':
		unit = time.Second
	case 'm':
		unit = time.Millisecond
	case 'u':
		unit = time.Microsecond
	case 'n':
		unit = time.Nanosecond
	default:
		return 0, false
	}
	n := int64(0)
	for _, c := range []byte(v[:len(v)-1]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if n > math.MaxInt64/int64(unit) {
		return 0, false
	}
	return time.Duration(n) * unit, true
}
