package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"time"
)

// tlsHandshakeTimeout bounds a client's TLS handshake, as the
// http.Server's ReadHeaderTimeout bounded it there.
const tlsHandshakeTimeout = 30 * time.Second

// serveTLS runs a TLS client connection's handshake, then serves it by
// protocol: h2 (and the CA's acme-tls/1 validation) in the listener's
// http.Server, HTTP/1.1 in an event loop or, without one, on the
// goroutine fast path.
func (l *listener) serveTLS(raw net.Conn, tc *timedConn) {
	bc := &bufConn{Conn: tc}
	conn := tls.Server(bc, l.tlsConf)
	ctx, cancel := context.WithTimeout(l.ctx, tlsHandshakeTimeout)
	err := conn.HandshakeContext(ctx)
	cancel()
	if err != nil {
		l.p.log.Debug("proxy: TLS handshake", "remote", raw.RemoteAddr().String(), "err", err)
		conn.Close()
		return
	}
	switch conn.ConnectionState().NegotiatedProtocol {
	case "h2", acmeTLSALPNProto:
		select {
		case l.conns <- conn:
		case <-l.closed:
			conn.Close()
		}
		return
	}
	if ls := l.p.eventLoops(); ls != nil && ls.takeTLS(l, raw, conn, bc) {
		return
	}
	l.newFast(conn, nil).run()
}

// bufConn is what a TLS connection served by an event loop reads and
// writes: the socket itself until the loop takes it (the handshake), then
// buffers the loop fills and drains with non-blocking system calls. If
// the loop hands the connection to a goroutine, it reads and writes the
// socket again (a net.Conn over it), what is left in the buffers first.
type bufConn struct {
	net.Conn // nil while a loop owns the socket

	in      []byte // read from the socket, not yet taken by tls
	out     []byte // written by tls, out[o:] not yet sent
	o       int
	eof     bool // the socket's read side ended
	drained bool // the last read from the socket found it empty
	rdhup   bool // the peer's FIN was seen: read on to the EOF
	buf     []byte
}

// errWouldBlock is a loop-owned bufConn with nothing to read: a
// temporary error, which crypto/tls does not remember.
var errWouldBlock = &wouldBlockError{}

type wouldBlockError struct{}

func (*wouldBlockError) Error() string   { return "would block" }
func (*wouldBlockError) Timeout() bool   { return true }
func (*wouldBlockError) Temporary() bool { return true }

func (b *bufConn) Read(p []byte) (int, error) {
	if len(b.in) > 0 {
		n := copy(p, b.in)
		b.in = b.in[n:]
		return n, nil
	}
	if b.Conn != nil {
		return b.Conn.Read(p)
	}
	if b.eof {
		return 0, io.EOF
	}
	return 0, errWouldBlock
}

func (b *bufConn) Write(p []byte) (int, error) {
	if b.Conn == nil {
		b.out = append(b.out, p...)
		return len(p), nil
	}
	if b.o < len(b.out) {
		if _, err := b.Conn.Write(b.out[b.o:]); err != nil {
			return 0, err
		}
		b.out, b.o = nil, 0
	}
	return b.Conn.Write(p)
}

// fill reads the socket fd into in; false when it had nothing (or ended).
func (b *bufConn) fill(fd int) bool {
	if b.drained || b.eof {
		return false
	}
	if b.buf == nil {
		b.buf = make([]byte, 16<<10)
	}
	n, err := rawRead(fd, b.buf)
	switch {
	case isEAGAIN(err):
		b.drained = true
		return false
	case err != nil || n == 0:
		b.eof = true
		return false
	}
	b.drained = n < len(b.buf) && !b.rdhup
	b.in = b.buf[:n]
	return true
}

func (b *bufConn) Close() error {
	if b.Conn == nil {
		return nil
	}
	return b.Conn.Close()
}

func (b *bufConn) LocalAddr() net.Addr {
	if b.Conn == nil {
		return &net.TCPAddr{}
	}
	return b.Conn.LocalAddr()
}

func (b *bufConn) RemoteAddr() net.Addr {
	if b.Conn == nil {
		return &net.TCPAddr{}
	}
	return b.Conn.RemoteAddr()
}

func (b *bufConn) SetDeadline(t time.Time) error {
	if b.Conn == nil {
		return nil
	}
	return b.Conn.SetDeadline(t)
}

func (b *bufConn) SetReadDeadline(t time.Time) error {
	if b.Conn == nil {
		return nil
	}
	return b.Conn.SetReadDeadline(t)
}

func (b *bufConn) SetWriteDeadline(t time.Time) error {
	if b.Conn == nil {
		return nil
	}
	return b.Conn.SetWriteDeadline(t)
}

func isWouldBlock(err error) bool { return errors.Is(err, errWouldBlock) }
