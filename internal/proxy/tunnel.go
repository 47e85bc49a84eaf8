package proxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// goAwayGrace bounds how long a WebSocket the proxy ends (its replica's
// drain timed out, or the proxy stops) waits for a frame in flight to end
// before its close frame can go out, and for the endpoints to answer it.
// After it (and a little more for writes) both connections are closed.
const goAwayGrace = time.Second

// errGoneAway ends a tunnel that cannot be ended with a close frame: not a
// WebSocket, or no frame boundary to put it at.
var errGoneAway = errors.New("connection ended by the proxy")

// tunnel is an upgraded connection: bytes copied both ways between the
// client and a backend. A WebSocket tunnel also follows the frame
// boundaries of both directions (wsframe.go) so that goAway can end it
// cleanly, a close frame to each side (1001 Going Away) between frames,
// rather than cutting the connections mid-frame.
type tunnel struct {
	b                 *backend
	client, backend   net.Conn
	clientR, backendR io.Reader // each connection's bytes, from what was read ahead on
	ws                bool

	going     atomic.Bool
	graceAt   atomic.Int64 // unix nanos; set before going
	goOnce    sync.Once
	closeOnce sync.Once
}

func newTunnel(b *backend, client net.Conn, clientR io.Reader, backend net.Conn, backendR io.Reader, ws bool) *tunnel {
	return &tunnel{b: b, client: client, clientR: clientR, backend: backend, backendR: backendR, ws: ws}
}

// run copies until both directions end (one side's clean end is passed on
// as a half close where the other side's connection has one), or one
// fails; then it closes both connections.
func (t *tunnel) run() {
	t.b.addTunnel(t)
	defer t.b.removeTunnel(t)
	defer t.close()
	errc := make(chan error, 2)
	var toClient, toBackend wsFrames
	go func() {
		errc <- t.pipe(t.backendR, t.backend, t.client, &toClient, wsCloseFrame(wsGoingAway, false))
	}()
	go func() {
		errc <- t.pipe(t.clientR, t.client, t.backend, &toBackend, wsCloseFrame(wsGoingAway, true))
	}()
	if err := <-errc; err != nil {
		t.close()
	}
	<-errc
}

func (t *tunnel) close() {
	t.closeOnce.Do(func() {
		t.client.Close()
		t.backend.Close()
	})
}

// goAway ends the tunnel soon: a WebSocket at its next frame boundaries,
// within goAwayGrace, other protocols at once. It does not wait.
func (t *tunnel) goAway() {
	t.goOnce.Do(func() {
		if !t.ws {
			t.close()
			return
		}
		t.graceAt.Store(time.Now().Add(goAwayGrace).UnixNano())
		t.going.Store(true)
		time.AfterFunc(goAwayGrace+250*time.Millisecond, t.close) // writes that hang
		// Wake the reads: a side that is between frames gets its close
		// frame now, not when its peer next sends something.
		now := time.Now()
		t.client.SetReadDeadline(now)
		t.backend.SetReadDeadline(now)
	})
}

// pipe copies src to dst until src ends. f follows the frames that pass;
// closeFrame is what goAway has it send dst at the next boundary. After
// that, what src still sends is dropped, and the pipe ends once src's own
// close frame (its answer, or one it had sent already) is complete: an
// endpoint sends nothing after its close frame (RFC 6455 §5.5.1).
func (t *tunnel) pipe(src io.Reader, srcConn, dst net.Conn, f *wsFrames, closeFrame []byte) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	closed := false // dst has the proxy's close frame: drop the rest
	graceSet := false
	sendClose := func() error {
		if _, err := dst.Write(closeFrame); err != nil {
			return err
		}
		closed = true
		closeWrite(dst)
		return nil
	}
	for {
		if t.going.Load() {
			switch {
			case f.err != nil:
				return errGoneAway // no boundary to put a close frame at
			case f.sawClose && f.atBoundary():
				if !closed {
					closeWrite(dst)
				}
				return nil
			case !closed && !f.sawClose && f.atBoundary():
				if err := sendClose(); err != nil {
					return err
				}
			}
			if !graceSet {
				srcConn.SetReadDeadline(time.Unix(0, t.graceAt.Load()))
				graceSet = true
			}
		}
		n, err := src.Read(buf)
		p := buf[:n]
		switch {
		case closed:
			f.feed(p) // only to see src's close frame
			p = nil
		case t.ws && t.going.Load() && !f.sawClose:
			if k, ok := f.untilBoundary(p); ok {
				// The frame in flight ends at k: the close frame goes
				// right after it.
				if _, werr := dst.Write(p[:k]); werr != nil {
					return werr
				}
				if werr := sendClose(); werr != nil {
					return werr
				}
				f.feed(p[k:])
				p = nil
			}
		case t.ws:
			f.feed(p)
		}
		if len(p) > 0 {
			if _, werr := dst.Write(p); werr != nil {
				return werr
			}
		}
		switch {
		case err == nil:
		case err == io.EOF:
			if closed || closeWrite(dst) {
				return nil
			}
			return errGoneAway // no half close to pass on: end both
		case isTimeout(err) && t.going.Load() && time.Now().UnixNano() < t.graceAt.Load():
			graceSet = false // goAway's wake-up, not the grace
		default:
			return err
		}
	}
}

// closeWrite half-closes c if it (or the connection it wraps) can; false
// when it cannot.
func closeWrite(c net.Conn) bool {
	for {
		switch v := c.(type) {
		case interface{ CloseWrite() error }:
			return v.CloseWrite() == nil
		case *prefixConn:
			c = v.Conn
		case *timedConn:
			c = v.Conn
		case *trackedConn:
			c = v.Conn
		default:
			return false
		}
	}
}
