package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/netip"

	"golang.org/x/sys/unix"
)

// An event loop's backend connection (see eloop.go, eloop_client.go): the
// request head out, the answer read, parsed and passed to the client.

type lbconn struct {
	lp  *eloop
	b   *backend
	fd  int
	id  int32
	gen uint64 // b.cutGen when dialed

	in   []byte // in[r:w] not consumed
	r, w int
	out  []byte // the request head, written from out[o:]
	o    int

	c          *lclient // nil while pooled
	connecting bool
	reused     bool
	readable   bool
	rdhup      bool // epoll saw the backend's FIN: read on to the EOF
	eof        bool
	paused     bool  // the client has unwritten output: read no further
	idleAt     int64 // unix nanos, pooled since
	deadline   int64 // unix nanos the response head is due; 0: none

	headAt   int // in[headAt:] starts the final response head
	headDone bool
	resp     respHead
	remain   int64
}

// dial starts connecting to b; nil when b's address is not an IP
// address (the goroutine path resolves names) or no socket can be made.
func (lp *eloop) dial(b *backend, gen uint64) *lbconn {
	ap, err := netip.ParseAddrPort(*b.addr.Load())
	if err != nil {
		return nil
	}
	var sa unix.Sockaddr
	family := unix.AF_INET
	if a := ap.Addr().Unmap(); a.Is4() {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	bc := &lbconn{lp: lp, b: b, fd: fd, gen: gen, in: make([]byte, 16<<10)}
	switch err := unix.Connect(fd, sa); err {
	case nil:
	case unix.EINPROGRESS:
		bc.connecting = true
	default:
		unix.Close(fd)
		return nil
	}
	id, err := lp.register(fd, bc)
	if err != nil {
		unix.Close(fd)
		return nil
	}
	bc.id = id
	return bc
}

func (bc *lbconn) event(ev uint32) {
	if bc.connecting {
		if ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		if errno, err := unix.GetsockoptInt(bc.fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || errno != 0 || ev&unix.EPOLLERR != 0 {
			bc.dialFailed()
			return
		}
		bc.connecting = false
		if bc.c != nil && !bc.flush() {
			return
		}
	} else if ev&unix.EPOLLOUT != 0 && bc.o < len(bc.out) {
		if !bc.flush() {
			return
		}
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
		return
	}
	bc.readable = true
	if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		bc.rdhup = true
	}
	if bc.c == nil {
		bc.lp.dropIdle(bc) // pooled: the backend closed it or spoke unasked
		return
	}
	if !bc.paused {
		bc.read()
	}
}

// flush writes the request head; false while it waits for the socket or
// when the write failed (the exchange moved on).
func (bc *lbconn) flush() bool {
	for bc.o < len(bc.out) {
		n, err := rawWrite(bc.fd, bc.out[bc.o:])
		if err == unix.EAGAIN {
			return false
		}
		if err != nil {
			bc.c.noAnswer(err)
			return false
		}
		bc.o += n
	}
	bc.out, bc.o = bc.out[:0], 0
	return true
}

func (bc *lbconn) dialFailed() {
	c := bc.c
	bc.c = nil
	b := bc.b
	bc.close()
	b.release()
	var from prior
	from.a.notSent(b, c.idx)
	from.err = errDialFailed
	c.l.retried(c.rt, b, errDialFailed)
	c.count(0)
	c.bc = nil
	c.hlen = 0
	c.handoffFrom(from)
}

var errDialFailed = &dialError{io.ErrUnexpectedEOF}

// read takes what the socket holds and moves the answer on.
func (bc *lbconn) read() {
	for bc.readable && !bc.paused && bc.c != nil && !bc.eof {
		if bc.w == len(bc.in) {
			from := bc.headAt // before the head is parsed, r is headAt
			if bc.headDone {
				from = bc.r
			}
			switch {
			case from > 0:
				bc.w = copy(bc.in, bc.in[from:bc.w])
				bc.r -= from
				bc.headAt = 0
			case !bc.headDone && len(bc.in) < maxRespHead:
				bc.in = append(bc.in, make([]byte, min(len(bc.in), maxRespHead-len(bc.in)))...)
			default:
				bc.c.noAnswer(errBadResponse) // a head over maxRespHead
				return
			}
		}
		room := len(bc.in) - bc.w
		n, err := rawRead(bc.fd, bc.in[bc.w:])
		if err == unix.EAGAIN {
			bc.readable = false
			break
		}
		if err != nil || n == 0 {
			bc.eof = true
			break
		}
		bc.w += n
		if n < room && !bc.rdhup {
			bc.readable = false
		}
		if !bc.progress() {
			return
		}
	}
	if bc.eof && bc.c != nil {
		bc.progress()
	}
}

// progress parses the answer's head and passes body bytes on; false when
// the exchange ended or left the loop.
func (bc *lbconn) progress() bool {
	c := bc.c
	if !bc.headDone {
		for {
			buf := bc.in[bc.headAt:bc.w]
			n := scanResponseHead(buf)
			if n == 0 {
				if bc.eof {
					c.noAnswer(io.ErrUnexpectedEOF)
					return false
				}
				return true
			}
			if err := parseResponseHead(buf[:n], &bc.resp); err != nil || bc.resp.status == http.StatusSwitchingProtocols {
				c.noAnswer(errBadResponse)
				return false
			}
			if bc.resp.status >= 200 {
				bc.r = bc.headAt + n
				break
			}
			bc.headAt += n // 100 Continue, 103 Early Hints: not forwarded
			bc.r = bc.headAt
		}
		bc.deadline = 0
		isHead := string(c.req.method) == http.MethodHead
		r := &bc.resp
		if !isHead && r.status != http.StatusNoContent && r.status != http.StatusNotModified && (r.chunked || r.contentLength < 0) {
			c.resume()
			return false
		}
		c.closeAfter = c.req.close || c.eof || c.l.fastClosing.Load()
		o := outBuf{c.out}
		mode := writeResponseHead(&o, r, isHead, !c.closeAfter, c.extra())
		c.out = o.b
		bc.headDone = true
		bc.remain = 0
		if mode == bodyLength {
			bc.remain = r.contentLength
		}
	}
	if k := int64(bc.w - bc.r); k > 0 && bc.remain > 0 {
		k = min(k, bc.remain)
		c.out = append(c.out, bc.in[bc.r:bc.r+int(k)]...)
		bc.r += int(k)
		bc.remain -= k
	}
	if bc.r == bc.w {
		bc.r, bc.w, bc.headAt = 0, 0, 0
	}
	if bc.remain == 0 {
		c.bc = nil
		b := bc.b
		if bc.resp.close || bc.eof {
			bc.close()
		} else {
			bc.lp.putConn(bc)
		}
		b.release()
		c.finish(bc.resp.status)
		return false
	}
	if bc.eof {
		c.bodyFailed()
		return false
	}
	c.flush()
	return c.state == cExchange
}

// scanResponseHead is the length of a complete response head at the
// start of b (lines end in CRLF or LF), 0 when more bytes are needed.
func scanResponseHead(b []byte) int {
	off := 0
	for {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return 0
		}
		end := off + i
		if end == off || end == off+1 && b[off] == '\r' {
			return end + 1
		}
		off = end + 1
	}
}

func (bc *lbconn) close() {
	if bc.fd < 0 {
		return
	}
	bc.lp.unregister(bc.id)
	unix.Close(bc.fd)
	bc.fd = -1
}

// dropIdle closes a pooled connection.
func (lp *eloop) dropIdle(bc *lbconn) {
	idle := lp.idle[bc.b]
	for i, x := range idle {
		if x == bc {
			idle = append(idle[:i], idle[i+1:]...)
			break
		}
	}
	if len(idle) == 0 {
		delete(lp.idle, bc.b)
	} else {
		lp.idle[bc.b] = idle
	}
	bc.close()
}
