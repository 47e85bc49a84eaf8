package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"syscall"
	"time"
)

// The proxy speaks HTTP/1.1 to backends itself instead of going through
// http.Transport: the request is written and the response read in the
// handler's own goroutine, which saves the transport's two goroutine
// hand-offs per request (about 3x throughput on a 2-core box under wrk).

const (
	maxIdlePerBackend = 512 // wrk-style load keeps hundreds of connections busy
	idleTimeout       = 90 * time.Second
	// A pooled connection idle for longer than this is checked for a
	// close from the backend before it carries a request.
	idleCheckAfter = time.Second
)

var aLongTimeAgo = time.Unix(1, 0)

// backendConn is one keep-alive connection to a backend.
type backendConn struct {
	b      *backend
	conn   net.Conn // tracked: closing it removes it from b.conns
	raw    syscall.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time
	abort  func() // wakes a blocked read or write when the client leaves
}

func (bc *backendConn) close() { bc.conn.Close() }

// getConn returns an idle connection (reused = true) or dials a new one.
func (b *backend) getConn(ctx context.Context, strict bool) (*backendConn, bool, error) {
	for {
		b.mu.Lock()
		n := len(b.idle)
		if n == 0 {
			b.mu.Unlock()
			break
		}
		bc := b.idle[n-1]
		b.idle[n-1] = nil
		b.idle = b.idle[:n-1]
		b.mu.Unlock()
		if (strict || time.Since(bc.idleAt) > idleCheckAfter) && !bc.alive() {
			bc.close()
			continue
		}
		return bc, true, nil
	}
	c, err := b.dial(ctx, "", "")
	if err != nil {
		return nil, false, err
	}
	return newBackendConn(b, c, nil), false, nil
}

// newBackendConn wraps c, a tracked connection to b, whose first bytes
// to read are prefix (an event loop read them).
func newBackendConn(b *backend, c net.Conn, prefix []byte) *backendConn {
	var r io.Reader = c
	if len(prefix) > 0 {
		r = io.MultiReader(bytes.NewReader(prefix), c)
	}
	bc := &backendConn{
		b:    b,
		conn: c,
		br:   bufio.NewReaderSize(r, 16<<10),
		bw:   bufio.NewWriterSize(c, 8<<10),
	}
	if tc, ok := c.(*trackedConn); ok {
		bc.raw, _ = tc.Conn.(syscall.Conn)
	}
	bc.abort = func() { bc.conn.SetDeadline(aLongTimeAgo) }
	return bc
}

// alive peeks at the socket without blocking: a backend that closed the
// idle connection (or sent something unasked) makes it unusable.
func (bc *backendConn) alive() bool {
	if bc.br.Buffered() > 0 || bc.raw == nil {
		return false
	}
	rc, err := bc.raw.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	var buf [1]byte
	rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		ok = n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK)
		return true
	})
	return ok
}

// putConn returns a connection whose last response was read completely.
func (b *backend) putConn(bc *backendConn) {
	bc.idleAt = time.Now()
	b.mu.Lock()
	if !b.accepting.Load() || len(b.idle) >= maxIdlePerBackend {
		b.mu.Unlock()
		bc.close()
		return
	}
	// The oldest idle connection sits at the bottom of the stack; drop it
	// when it has been unused too long, so idle connections do not pile up.
	var stale *backendConn
	if len(b.idle) > 0 && bc.idleAt.Sub(b.idle[0].idleAt) > idleTimeout {
		stale = b.idle[0]
		b.idle = append(b.idle[:0], b.idle[1:]...)
	}
	b.idle = append(b.idle, bc)
	b.mu.Unlock()
	if stale != nil {
		stale.close()
	}
}

// closeIdle closes pooled connections (the backend leaves rotation).
func (b *backend) closeIdle() {
	b.mu.Lock()
	idle := b.idle
	b.idle = nil
	b.mu.Unlock()
	for _, bc := range idle {
		bc.close()
	}
	if t := b.h2c.Load(); t != nil {
		t.CloseIdleConnections() // HTTP/2 connections without streams
	}
}

// errNoResponse wraps a failure before the response header was read:
// the request may have reached the backend, but nothing came back.
type errNoResponse struct{ err error }

func (e *errNoResponse) Error() string { return "backend sent no response: " + e.err.Error() }
func (e *errNoResponse) Unwrap() error { return e.err }

// roundTrip writes r (with its headers already prepared) on bc and reads
// the response header. body is nil for requests without one.
// The response head must come within headerTimeout of the request sent.
func (bc *backendConn) roundTrip(r *http.Request, body io.Reader, headerTimeout time.Duration) (*http.Response, error) {
	w := bc.bw
	uri := r.RequestURI
	if uri == "" || uri[0] != '/' {
		uri = r.URL.RequestURI() // "*" or absolute-form: send origin-form
	}
	w.WriteString(r.Method)
	w.WriteByte(' ')
	w.WriteString(uri)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(r.Host)
	w.WriteString("\r\n")
	for k, vv := range r.Header {
		if k == "Content-Length" || k == "Host" {
			continue // framing is ours, below
		}
		for _, v := range vv {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	chunked := false
	if body != nil {
		if r.ContentLength >= 0 {
			w.WriteString("Content-Length: ")
			var nb [20]byte
			w.Write(strconv.AppendInt(nb[:0], r.ContentLength, 10))
			w.WriteString("\r\n")
		} else {
			chunked = true
			w.WriteString("Transfer-Encoding: chunked\r\n")
		}
	}
	w.WriteString("\r\n")
	if body != nil {
		if chunked {
			cw := httputil.NewChunkedWriter(w)
			if _, err := io.Copy(cw, body); err != nil {
				return nil, &bodyError{err}
			}
			cw.Close()
			w.WriteString("\r\n")
		} else if n, err := io.Copy(w, body); err != nil || n != r.ContentLength {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return nil, &bodyError{err}
		}
	}
	if err := w.Flush(); err != nil {
		return nil, &errNoResponse{err}
	}
	bc.conn.SetReadDeadline(time.Now().Add(headerTimeout))
	for {
		resp, err := http.ReadResponse(bc.br, r)
		if err != nil {
			return nil, &errNoResponse{err}
		}
		// Interim responses (100 Continue, 103 Early Hints) are not
		// forwarded; 101 only happens on the upgrade path.
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		bc.conn.SetReadDeadline(time.Time{})
		return resp, nil
	}
}

// bodyError is a failure reading the client's request body (or writing it
// on): the client's fault or the backend's, but never retried.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "request body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

func isNoResponse(err error) bool {
	var e *errNoResponse
	return errors.As(err, &e)
}
