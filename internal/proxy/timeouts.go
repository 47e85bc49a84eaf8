package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// Per-phase timeouts (Route.Timeouts) on a client connection: both HTTP
// paths read and write the client through a timedConn, which renews a
// deadline before every read (while a request body is read) and every
// write, so a timeout bounds the wait for progress, not the whole
// transfer: a large upload or download at a steady pace is never cut.

// timedConn is a client connection with progress timeouts.
type timedConn struct {
	net.Conn
	readTimeout  atomic.Int64 // > 0 while a request body is read
	writeTimeout atomic.Int64 // > 0: every write has this long
}

func (c *timedConn) Read(p []byte) (int, error) {
	if d := c.readTimeout.Load(); d > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(time.Duration(d)))
	}
	return c.Conn.Read(p)
}

func (c *timedConn) Write(p []byte) (int, error) {
	if d := c.writeTimeout.Load(); d > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(time.Duration(d)))
	}
	return c.Conn.Write(p)
}

// readBody starts (d > 0) or ends (d == 0) the request body's read
// timeout. Ending it clears the read deadline, so reads that follow
// (net/http's watch for a closed client, the next request head) are not
// cut by it.
func (c *timedConn) readBody(d time.Duration) {
	c.readTimeout.Store(int64(d))
	if d == 0 {
		c.Conn.SetReadDeadline(time.Time{})
	}
}

// connKey is the context key under which the http.Server's ConnContext
// stores the client connection.
type connKey struct{}

// timedConnOf finds the timedConn under a connection net/http serves: a
// TLS connection, or one the fast path handed over.
func timedConnOf(ctx context.Context) *timedConn {
	c, _ := ctx.Value(connKey{}).(net.Conn)
	for c != nil {
		switch v := c.(type) {
		case *timedConn:
			return v
		case *tls.Conn:
			c = v.NetConn()
		case *prefixConn:
			c = v.Conn
		default:
			return nil
		}
	}
	return nil
}

// clientBody is the request body as the net/http path sends it on: it
// applies the route's body read timeout and keeps the client's errors
// apart from the backend's.
type clientBody struct {
	r   io.Reader
	c   *timedConn // nil: no timeout on the connection
	err error      // the client's read error, io.EOF excluded
	// stream: an HTTP/2 request's own read deadline, renewed before
	// every read for timeout (the connection's belongs to every stream).
	stream  *http.ResponseController
	timeout time.Duration
}

func newClientBody(r io.Reader, c *timedConn, timeout time.Duration) *clientBody {
	if c != nil {
		c.readBody(timeout)
	}
	return &clientBody{r: r, c: c}
}

func (b *clientBody) Read(p []byte) (int, error) {
	if b.stream != nil && b.timeout > 0 {
		b.stream.SetReadDeadline(time.Now().Add(b.timeout))
	}
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// done ends the body's read timeout. After a failed body, reads stay
// failing: net/http then closes the connection rather than wait to skip
// the rest of a body that will not come (or cannot be framed).
func (b *clientBody) done() {
	if b.stream != nil {
		b.stream.SetReadDeadline(time.Time{})
	}
	if b.c == nil {
		return
	}
	b.c.readTimeout.Store(0)
	if b.err != nil {
		b.c.Conn.SetReadDeadline(aLongTimeAgo)
		return
	}
	b.c.Conn.SetReadDeadline(time.Time{})
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
