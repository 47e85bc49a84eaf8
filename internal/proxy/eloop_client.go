package proxy

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// An event loop's client connection (see eloop.go; its backend side is
// eloop_backend.go): an HTTP/1.1 exchange as a state machine over
// edge-triggered epoll events. A read that returns less than the room it
// had means the socket is empty; the next edge says when more came.

// lclient states.
const (
	cIdle     = iota // waiting for (the rest of) a request head
	cExchange        // the request is with a backend
	cFlush           // the answer is complete, some of it still to write
	cGone            // closed or handed to the goroutine fast path
)

type lclient struct {
	lp *eloop
	l  *listener
	fd int
	id int32
	ip string
	// TLS: tls reads and writes through tb, which the loop fills from the
	// socket and drains into it; nil on plain HTTP.
	tls *tls.Conn
	tb  *bufConn

	in   []byte // read buffer: in[r:w] not consumed
	r, w int
	out  []byte // written from out[o:]
	o    int

	state    int
	since    int64 // unix nanos: idle since, or head started
	writeAt  int64 // unix nanos a write has been waiting since; 0: none
	readable bool  // the socket may hold unread bytes
	eof      bool  // the client closed its side
	hup      bool  // the client hung up or the connection broke
	rdhup    bool  // epoll saw the client's FIN: read on to the EOF

	// The current request.
	hlen       int // its head's length at in[r:]
	head       []byte
	req        reqHead
	rt         *route
	idx        int // the backend's index in rt.ready
	bc         *lbconn
	start      time.Time
	closeAfter bool // "Connection: close" sent: close once written
}

// outBuf is a headWriter appending to a byte slice.
type outBuf struct{ b []byte }

func (o *outBuf) Write(p []byte) (int, error)       { o.b = append(o.b, p...); return len(p), nil }
func (o *outBuf) WriteString(s string) (int, error) { o.b = append(o.b, s...); return len(s), nil }
func (o *outBuf) WriteByte(c byte) error            { o.b = append(o.b, c); return nil }
func (o *outBuf) AvailableBuffer() []byte           { return o.b[len(o.b):] }

func isEAGAIN(err error) bool { return err == unix.EAGAIN }

// rawRead and rawWrite are read(2) and write(2) on a non-blocking socket
// as raw system calls: they never block, so the Go scheduler need not
// know (no entersyscall/exitsyscall, nothing for sysmon to hand off).
func rawRead(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, errno := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func (c *lclient) event(ev uint32) {
	if ev&(unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.hup = true
	}
	if ev&unix.EPOLLOUT != 0 && c.pending() {
		if c.flush() {
			c.written()
		}
		if c.state == cGone {
			return
		}
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
		return
	}
	c.readable = true
	if ev&unix.EPOLLRDHUP != 0 {
		c.rdhup = true
	}
	if c.tb != nil {
		c.tb.drained = false
		c.tb.rdhup = c.rdhup
	}
	switch c.state {
	case cIdle:
		c.read()
	case cExchange:
		if c.hup || ev&unix.EPOLLRDHUP != 0 {
			c.abort() // the client left while its request was out
		}
	}
}

// read takes what the socket holds, then serves what it can.
func (c *lclient) read() {
	for c.readable && !c.eof {
		if c.w == len(c.in) {
			if c.r == 0 {
				break // full: process decides
			}
			c.w = copy(c.in, c.in[c.r:c.w])
			c.r = 0
		}
		if c.tls != nil {
			n, err := c.tls.Read(c.in[c.w:])
			c.w += n
			if err == nil {
				continue
			}
			if !isWouldBlock(err) {
				c.eof = true
				break
			}
			if !c.tb.fill(c.fd) {
				c.readable = false
				c.eof = c.tb.eof
				break
			}
			continue
		}
		room := len(c.in) - c.w
		n, err := rawRead(c.fd, c.in[c.w:])
		if err == unix.EAGAIN {
			c.readable = false
			break
		}
		if err != nil || n == 0 {
			c.eof = true
			break
		}
		c.w += n
		if n < room && !c.rdhup {
			c.readable = false
		}
	}
	c.process()
}

// process starts the exchange of the next buffered request, or hands the
// connection over when it is not the loop's kind.
func (c *lclient) process() {
	for c.state == cIdle {
		if c.r == c.w {
			if c.eof || c.hup {
				c.close()
			}
			return
		}
		buf := c.in[c.r:c.w]
		n := scanHead(buf)
		if n == 0 {
			switch {
			case c.eof || c.hup:
				c.close()
			case len(buf) == len(c.in):
				c.handoff() // too large for the fast path: net/http answers
			}
			return
		}
		if n < 0 {
			c.handoff()
			return
		}
		c.head = append(c.head[:0], buf[:n]...)
		st := c.l.state.Load()
		if st.mode != ModeHTTP || parseRequestHead(c.head, &c.req) != nil || st.intercepts(&c.req) || !loopable(&c.req) {
			c.handoff()
			return
		}
		rt := st.route(string(c.req.host))
		if rt == nil {
			c.handoff()
			return
		}
		c.hlen = n
		c.exchange(rt)
	}
}

// loopable reports whether a loop can carry req: without a body and safe
// to send again (a failed attempt is retried by the goroutine path).
func loopable(req *reqHead) bool {
	if req.contentLength > 0 {
		return false
	}
	switch string(req.method) {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// exchange sends the parsed request to one of rt's backends.
func (c *lclient) exchange(rt *route) {
	b, idx := rt.pick(0)
	if b == nil || !b.acquire() {
		c.handoff() // none Ready: the goroutine path holds the request
		return
	}
	bc := c.lp.getConn(b)
	if bc == nil {
		b.release()
		c.handoff()
		return
	}
	c.bc, bc.c = bc, c
	c.rt, c.idx = rt, idx
	c.state = cExchange
	if rt.m != nil {
		c.start = time.Now()
		rt.m.inflight.Inc()
	}
	bc.headAt, bc.headDone, bc.remain, bc.paused = bc.r, false, 0, false
	bc.deadline = c.lp.now + int64(rt.timeouts.responseHeader)
	o := outBuf{bc.out[:0]}
	writeRequestHead(&o, &c.req, c.ip, c.tls != nil)
	bc.out, bc.o = o.b, 0
	if !bc.connecting {
		bc.flush()
	}
}

// flush writes the pending output; false while some of it waits for the
// socket (or the client is gone: then the exchange has ended).
func (c *lclient) flush() bool {
	out, o := &c.out, &c.o
	if c.tls != nil {
		if c.o < len(c.out) {
			if _, err := c.tls.Write(c.out[c.o:]); err != nil {
				c.hup = true
				c.abort()
				return false
			}
			c.out, c.o = c.out[:0], 0
		}
		out, o = &c.tb.out, &c.tb.o
	}
	for *o < len(*out) {
		n, err := rawWrite(c.fd, (*out)[*o:])
		if err == unix.EAGAIN {
			if c.writeAt == 0 {
				c.writeAt = c.lp.now
			}
			if c.bc != nil {
				c.bc.paused = true
			}
			return false
		}
		if err != nil {
			c.hup = true
			c.abort()
			return false
		}
		*o += n
	}
	*out, *o, c.writeAt = (*out)[:0], 0, 0
	return true
}

// pending reports whether some output waits for room in the socket.
func (c *lclient) pending() bool {
	return c.o < len(c.out) || c.tb != nil && c.tb.o < len(c.tb.out)
}

// written goes on after the output was written in full.
func (c *lclient) written() {
	switch c.state {
	case cExchange:
		if bc := c.bc; bc.paused {
			bc.paused = false
			bc.read()
		}
	case cFlush:
		c.next()
	}
}

// next ends the request whose answer was written and reads the next one.
func (c *lclient) next() {
	if c.closeAfter || c.hup {
		c.close()
		return
	}
	c.state = cIdle
	c.since = c.lp.now
	c.process()
	if c.state == cIdle && c.readable {
		c.read()
	}
}

// finish ends the exchange with code counted; the answer (in out) is
// written, then the next request read.
func (c *lclient) finish(code int) {
	c.count(code)
	c.r += c.hlen
	c.hlen = 0
	c.state = cFlush
	if c.flush() {
		c.next()
	}
}

func (c *lclient) count(code int) {
	if m := c.rt.m; m != nil {
		m.inflight.Dec()
		if code != 0 {
			m.code(code).Inc()
			m.duration.Observe(time.Since(c.start).Seconds())
		}
	}
}

// noAnswer handles a backend that gave no usable answer to a request
// sent (or about to be): the request goes, unconsumed, with the
// connection to the goroutine path, which tries again (listener.forward).
func (c *lclient) noAnswer(err error) {
	bc := c.bc
	c.bc = nil
	b := bc.b
	bc.close()
	b.release()
	var from prior
	from.a.noAnswer(b, c.idx, bc.reused)
	from.err = err
	c.l.retried(c.rt, b, err)
	c.count(0)
	c.hlen = 0
	c.handoffFrom(from)
}

// bodyFailed handles a backend that broke off mid-body: the status line
// is out, so the client connection is closed after what was received.
func (c *lclient) bodyFailed() {
	bc := c.bc
	c.bc = nil
	bc.close()
	bc.b.failures.Add(1)
	bc.b.release()
	c.closeAfter = true
	c.finish(bc.resp.status)
}

// abort ends the connection at once: the client left, or its listener
// went away, or a deadline passed.
func (c *lclient) abort() {
	if bc := c.bc; bc != nil {
		c.bc = nil
		bc.close()
		bc.b.release()
		c.count(499)
	}
	c.close()
}

// timeout answers 504 when the backend sent no response head in time.
func (c *lclient) timeout() {
	bc := c.bc
	c.bc = nil
	bc.close()
	bc.b.failures.Add(1)
	bc.b.release()
	o := outBuf{c.out}
	c.closeAfter = c.req.close || c.l.fastClosing.Load()
	writeErrorResponse(&o, http.StatusGatewayTimeout, "gateway timeout: "+c.rt.cfg.Service+": no response from backend\n", !c.closeAfter, c.extra())
	c.out = o.b
	c.finish(http.StatusGatewayTimeout)
}

// check enforces c's deadlines at now.
func (c *lclient) check(now int64) {
	switch {
	case c.writeAt != 0:
		limit := c.l.state.Load().write
		if c.rt != nil {
			limit = c.rt.timeouts.write
		}
		if limit > 0 && time.Duration(now-c.writeAt) > limit {
			c.abort()
		}
	case c.state == cExchange:
		if bc := c.bc; bc.deadline != 0 && now > bc.deadline {
			c.timeout()
		}
	case c.state == cIdle:
		idle := time.Duration(now - c.since)
		switch {
		case c.r == c.w && (idle > fastIdleTimeout || c.l.fastClosing.Load() && idle >= closeIdleAfter):
			c.close()
		case c.r < c.w && idle > fastHeaderTimeout:
			c.close()
		}
	}
}

// extra is the header lines every answer on the connection carries.
func (c *lclient) extra() string {
	if c.tls == nil {
		return ""
	}
	return c.l.state.Load().hstsLine
}

// close closes the connection.
func (c *lclient) close() {
	if c.state == cGone {
		return
	}
	c.state = cGone
	c.lp.unregister(c.id)
	delete(c.lp.clients, c)
	unix.Close(c.fd)
	c.l.loopConns.Add(-1)
}

// handoff gives the connection and its unconsumed bytes to the goroutine
// fast path, which serves it from then on.
func (c *lclient) handoff() { c.handoffFrom(prior{}) }

// handoffFrom is handoff after a failed try of the buffered request.
func (c *lclient) handoffFrom(from prior) {
	prefix := bytes.Clone(c.in[c.r:c.w])
	conn, ok := c.detach()
	if !ok {
		return
	}
	c.l.startFast(conn, prefix, from)
	c.l.loopConns.Add(-1)
}

// detach takes c's socket out of the loop as a net.Conn.
func (c *lclient) detach() (net.Conn, bool) {
	c.state = cGone
	c.lp.unregister(c.id)
	delete(c.lp.clients, c)
	// The epoll set holds the open file, not the number: take it out
	// before Go's netpoller, with a duplicate, takes the socket.
	unix.EpollCtl(c.lp.ep, unix.EPOLL_CTL_DEL, c.fd, nil)
	conn, err := fdConn(c.fd)
	if err != nil {
		c.l.p.log.Warn("proxy event loop: handing over a connection", "err", err)
		c.l.loopConns.Add(-1)
		return nil, false
	}
	if c.tls != nil {
		c.tb.Conn = conn // reads and writes go to the socket again
		return c.tls, true
	}
	return conn, true
}

// fdConn turns fd into a net.Conn (on a duplicate) and closes fd.
func fdConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "")
	defer f.Close()
	return net.FileConn(f)
}

// resume hands an exchange whose answer is chunked or ends with the
// backend's close to the goroutine fast path, which streams it and goes
// on with the connection.
func (c *lclient) resume() {
	bc := c.bc
	c.bc = nil
	bc.lp.unregister(bc.id)
	unix.EpollCtl(bc.lp.ep, unix.EPOLL_CTL_DEL, bc.fd, nil)
	back, err := fdConn(bc.fd)
	bc.fd = -1
	if err != nil {
		bc.b.release()
		c.count(499)
		c.close()
		return
	}
	clientPrefix := bytes.Clone(c.in[c.r+c.hlen : c.w])
	backPrefix := bytes.Clone(bc.in[bc.headAt:bc.w])
	head := bytes.Clone(c.head)
	conn, ok := c.detach()
	if !ok {
		back.Close()
		bc.b.release()
		c.count(499)
		return
	}
	c.l.resumeFast(conn, clientPrefix, head, c.rt, c.start, newBackendConn(bc.b, bc.b.track(back), backPrefix))
	c.l.loopConns.Add(-1)
}
