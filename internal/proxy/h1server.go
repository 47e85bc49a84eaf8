package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// The fast path serves HTTP/1.1 client connections itself (plain, and TLS
// ones that did not negotiate h2; the event loops take the commonest
// requests before it, see eloop.go): one goroutine
// per connection reads a request head into a reused buffer, forwards it on
// a pooled backend connection and writes the answer, with no per-request
// goroutines, maps or background reads. net/http costs about twice the CPU
// per request (its per-request allocations, the background read that
// watches for a closed client, deadline updates), and on a box where the
// proxy shares the CPUs with the load and the backends that CPU is the
// throughput.
//
// The fast path only takes requests whose meaning is unambiguous (see
// h1parse.go). On the first request it does not take, it hands the whole
// connection, with the bytes it has read but not consumed, to the
// listener's http.Server (ServeHTTP), which serves it from then on: HTTP/1.0,
// Expect: 100-continue, chunked uploads, WebSocket upgrades and malformed
// requests get exactly the behaviour they had before. TLS connections
// go to net/http when they negotiate h2.

const (
	// fastIdleTimeout and fastHeaderTimeout match the http.Server's
	// IdleTimeout and ReadHeaderTimeout; a sweeper enforces them so the hot
	// path sets no deadlines.
	fastIdleTimeout   = 2 * time.Minute
	fastHeaderTimeout = 30 * time.Second
	sweepEvery        = 5 * time.Second

	clientReadBuf  = 16 << 10 // also the largest request head the fast path takes
	clientWriteBuf = 8 << 10
	maxRespHead    = 1 << 20

	// watchAfter is how long a request waits for its backend's answer
	// before the proxy starts watching for the client to leave (a left
	// client aborts the backend request, as net/http's context did).
	watchAfter = 200 * time.Millisecond
)

// fastConn states, for shutdown and the sweeper.
const (
	connIdle    int32 = iota // between requests
	connReading              // reading a request head
	connActive               // forwarding a request
	connClosed               // closed by shutdown or the sweeper
)

type fastConn struct {
	l  *listener
	c  net.Conn
	tc timedConn // c with the route's body read and write timeouts; br and bw use it
	br *bufio.Reader
	bw *bufio.Writer
	ip string // client address for X-Forwarded-For
	// tlsState is the TLS connection's state (X-Forwarded-Proto https,
	// HSTS, r.TLS once delegated); nil on plain HTTP.
	tlsState *tls.ConnectionState
	head     []byte // copy of the current request head; req points into it
	req      reqHead
	resp     respHead
	rbuf     []byte // current response head; resp points into it
	keep     bool   // the answer sent leaves the connection usable
	// prior: an event loop tried the first request and failed.
	prior prior

	state atomic.Int32
	since atomic.Int64 // unix nanos of the last state change the sweeper times

	// Client-gone watch (see armWatch).
	watchMu    sync.Mutex
	watchGone  func()
	watchTimer *time.Timer
	watchMode  int // 0 off, 1 timer armed, 2 goroutine started
	watchDone  chan struct{}
	gone       atomic.Bool
}

var fastConnPool = sync.Pool{New: func() any {
	fc := &fastConn{
		br:        bufio.NewReaderSize(nil, clientReadBuf),
		bw:        bufio.NewWriterSize(nil, clientWriteBuf),
		watchDone: make(chan struct{}, 1),
	}
	fc.watchTimer = time.AfterFunc(time.Hour, fc.watch)
	fc.watchTimer.Stop()
	return fc
}}

// serveFast runs one plain-HTTP client connection.
func (l *listener) serveFast(c net.Conn) { l.newFast(c, nil).run() }

// startFast serves c on the fast path in a goroutine of its own; prefix
// holds bytes an event loop read from c and did not consume, from what
// the loop's try of the first request left.
func (l *listener) startFast(c net.Conn, prefix []byte, from prior) {
	fc := l.newFast(c, prefix)
	fc.prior = from
	l.fastWG.Add(1)
	go func() { defer l.fastWG.Done(); fc.run() }()
}

// resumeFast takes over from an event loop an exchange whose answer is
// chunked or delimited by the backend's close: the request (head) went
// out on bc, whose buffered bytes start with the final response head.
// It streams the answer, counts it like route and goes on serving c.
func (l *listener) resumeFast(c net.Conn, prefix, head []byte, rt *route, start time.Time, bc *backendConn) {
	fc := l.newFast(c, prefix)
	fc.head = append(fc.head[:0], head...)
	parseRequestHead(fc.head, &fc.req) // parsed before: it cannot fail
	fc.useRoute(rt)
	fc.state.Store(connActive)
	l.fastWG.Add(1)
	go func() {
		defer l.fastWG.Done()
		code := http.StatusBadGateway
		fc.keep = false
		if err := fc.readResponseHead(bc); err != nil {
			bc.close()
			bc.b.failures.Add(1)
			bc.b.release()
			fc.fail(code, "bad gateway: "+rt.cfg.Service+": backend failed")
		} else {
			code = fc.respond(bc)
		}
		if m := rt.m; m != nil {
			m.inflight.Dec()
			m.code(code).Inc()
			m.duration.Observe(time.Since(start).Seconds())
		}
		if fc.bw.Flush() != nil || !fc.keep || fc.req.close || fc.gone.Load() {
			fc.end(false)
			return
		}
		fc.since.Store(time.Now().UnixNano())
		fc.state.Store(connIdle)
		fc.run()
	}()
}

// newFast sets up a fast connection for c and registers it with the
// listener (shutdown and the sweeper find it there).
func (l *listener) newFast(c net.Conn, prefix []byte) *fastConn {
	fc := fastConnPool.Get().(*fastConn)
	fc.l, fc.c = l, c
	fc.tc.Conn = c
	fc.tc.readTimeout.Store(0)
	fc.tc.writeTimeout.Store(int64(l.state.Load().write))
	if len(prefix) > 0 {
		fc.br.Reset(io.MultiReader(bytes.NewReader(prefix), &fc.tc))
	} else {
		fc.br.Reset(&fc.tc)
	}
	fc.bw.Reset(&fc.tc)
	fc.ip = ""
	if host, _, err := net.SplitHostPort(c.RemoteAddr().String()); err == nil {
		fc.ip = host
	}
	fc.tlsState = nil
	if tc, ok := c.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		fc.tlsState = &cs
	}
	fc.gone.Store(false)
	fc.state.Store(connIdle)
	fc.since.Store(time.Now().UnixNano())

	l.fastMu.Lock()
	l.fastConns[fc] = struct{}{}
	l.fastMu.Unlock()
	return fc
}

// run serves the connection's requests, then lets go of it.
func (fc *fastConn) run() { fc.end(fc.serve()) }

// end unregisters the connection and closes it, unless it was delegated
// to net/http, which owns it and fc.br now.
func (fc *fastConn) end(delegated bool) {
	l := fc.l
	l.fastMu.Lock()
	delete(l.fastConns, fc)
	l.fastMu.Unlock()
	if delegated {
		return
	}
	fc.c.Close()
	fc.l, fc.c, fc.tc.Conn, fc.prior = nil, nil, nil, prior{}
	fc.br.Reset(nil)
	fc.bw.Reset(nil)
	fastConnPool.Put(fc)
}

// serve reads and forwards requests until the connection ends; true when
// it was handed to net/http.
func (fc *fastConn) serve() bool {
	for {
		// Once the listener closes (fastClosing), the next request is
		// still read and answered, with "Connection: close": the client
		// may have sent it already. closeFast closes the connection if
		// none comes.
		if _, err := fc.br.Peek(1); err != nil {
			return false
		}
		if !fc.state.CompareAndSwap(connIdle, connReading) {
			return false // the sweeper or shutdown closed it
		}
		fc.since.Store(time.Now().UnixNano())
		n := 0
		for {
			buf, _ := fc.br.Peek(fc.br.Buffered())
			if n = scanHead(buf); n != 0 {
				break
			}
			if fc.br.Buffered() == clientReadBuf {
				n = -1 // too large for the fast path
				break
			}
			if _, err := fc.br.Peek(fc.br.Buffered() + 1); err != nil {
				return false
			}
		}
		if n > 0 {
			buf, _ := fc.br.Peek(n)
			fc.head = append(fc.head[:0], buf...)
			if parseRequestHead(fc.head, &fc.req) != nil || fc.l.state.Load().intercepts(&fc.req) {
				n = -1
			}
		}
		if n < 0 {
			return fc.delegate()
		}
		fc.br.Discard(n)
		fc.state.Store(connActive)
		keep := fc.handle()
		if !keep || fc.gone.Load() {
			return false
		}
		fc.since.Store(time.Now().UnixNano())
		fc.state.Store(connIdle)
	}
}

// delegate hands the connection, unread bytes included, to net/http.
func (fc *fastConn) delegate() bool {
	pc := &prefixConn{Conn: &fc.tc, br: fc.br, tls: fc.tlsState}
	select {
	case fc.l.conns <- pc:
		return true
	case <-fc.l.closed:
		return false
	}
}

// prefixConn replays what the fast path buffered before reading on. tls
// is the TLS state of the connection under it, which net/http cannot see
// through the wrapper (ServeHTTP sets r.TLS from it).
type prefixConn struct {
	net.Conn
	br  *bufio.Reader
	tls *tls.ConnectionState
}

func (c *prefixConn) Read(p []byte) (int, error) { return c.br.Read(p) }

// armWatch starts watching for the client to close its connection while
// the request waits on a backend: after watchAfter (delay true) or at once.
// gone runs when it does. The watch reads ahead on the client connection,
// so it is only armed while the request's body is not being read.
func (fc *fastConn) armWatch(gone func(), delay bool) {
	fc.watchMu.Lock()
	fc.watchGone = gone
	fc.watchMu.Unlock()
	if delay {
		fc.watchMode = 1
		fc.watchTimer.Reset(watchAfter)
		return
	}
	fc.watchMode = 2
	go fc.watch()
}

// disarmWatch stops the watch and waits for it to let go of the reader.
func (fc *fastConn) disarmWatch() {
	mode := fc.watchMode
	fc.watchMode = 0
	if mode == 0 || mode == 1 && fc.watchTimer.Stop() {
		return
	}
	fc.c.SetReadDeadline(aLongTimeAgo)
	<-fc.watchDone
	fc.c.SetReadDeadline(time.Time{})
}

func (fc *fastConn) watch() {
	_, err := fc.br.Peek(fc.br.Buffered() + 1)
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) && !errors.Is(err, os.ErrDeadlineExceeded) {
		fc.gone.Store(true)
		fc.watchMu.Lock()
		gone := fc.watchGone
		fc.watchMu.Unlock()
		gone()
	}
	fc.watchDone <- struct{}{}
}

// waitForBackends is Proxy.waitForBackends with the client watched, so a
// client that gives up stops waiting.
func (fc *fastConn) waitForBackends(st *listenerState, deadline time.Time, pause bool) (*listenerState, bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fc.armWatch(cancel, false)
	next, ok := fc.l.p.waitForBackends(ctx, st, fc.l, deadline, pause)
	fc.disarmWatch()
	return next, ok && !fc.gone.Load()
}

// sweep closes fast connections idle longer than fastIdleTimeout or
// stuck in a request head longer than fastHeaderTimeout, until the
// listener closes.
func (l *listener) sweep() {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-l.closed:
			return
		case <-t.C:
		}
		now := time.Now().UnixNano()
		l.fastMu.Lock()
		for fc := range l.fastConns {
			age := time.Duration(now - fc.since.Load())
			switch s := fc.state.Load(); {
			case s == connIdle && age > fastIdleTimeout, s == connReading && age > fastHeaderTimeout:
				if fc.state.CompareAndSwap(s, connClosed) {
					fc.c.Close()
				}
			}
		}
		l.fastMu.Unlock()
	}
}

// closeIdleAfter is how long a keep-alive connection must have been idle
// before closeFast closes it. A client busy on it has usually sent its
// next request already, in the kernel's buffer unread: closing then would
// reset that request. Within the grace the request arrives and is answered
// with "Connection: close" instead.
const closeIdleAfter = 250 * time.Millisecond

// closeFast ends the fast connections: idle ones once idle for
// closeIdleAfter, busy ones after their current request (answered with
// "Connection: close"), all of them when ctx ends.
func (l *listener) closeFast(ctx context.Context) {
	l.fastClosing.Store(true)
	closeIdle := func() bool {
		l.fastMu.Lock()
		defer l.fastMu.Unlock()
		now := time.Now().UnixNano()
		for fc := range l.fastConns {
			if time.Duration(now-fc.since.Load()) < closeIdleAfter {
				continue
			}
			if fc.state.CompareAndSwap(connIdle, connClosed) {
				fc.c.Close()
			}
		}
		return len(l.fastConns) == 0 && l.loopConns.Load() == 0
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !closeIdle() {
		select {
		case <-ctx.Done():
			if ls := l.p.loops.Load(); ls != nil {
				ls.closeListener(l)
			}
			l.fastMu.Lock()
			for fc := range l.fastConns {
				fc.c.Close()
			}
			l.fastMu.Unlock()
			return
		case <-tick.C:
		}
	}
}
