package proxy

import (
	"context"
	"io"
	"net"
	"sync"
	"time"
)

// splice is one proxied TCP connection: client and backend copied both ways.
type splice struct {
	client, backend net.Conn
	once            sync.Once
}

// abort closes both sides; both copy directions then end.
func (s *splice) abort() {
	s.once.Do(func() {
		s.client.Close()
		s.backend.Close()
	})
}

// serveTCP chooses a backend for an accepted connection (with the same
// waiting and dial retries as HTTP), then copies both ways. The connection
// counts in flight on the backend until both directions are closed.
func (l *listener) serveTCP(client net.Conn, st *listenerState) {
	b, conn := l.p.connectTCP(st, l)
	if b == nil {
		client.Close()
		return
	}
	defer b.release()
	rt := st.routes[0]
	if rt.m != nil {
		rt.m.connections.Inc()
		rt.m.inflight.Inc()
		defer rt.m.inflight.Dec()
	}
	s := &splice{client: client, backend: conn}
	b.mu.Lock()
	b.splices[s] = struct{}{}
	b.mu.Unlock()
	l.tcpMu.Lock()
	l.tcpConns[s] = struct{}{}
	l.tcpMu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.splices, s)
		b.mu.Unlock()
		l.tcpMu.Lock()
		delete(l.tcpConns, s)
		l.tcpMu.Unlock()
		s.abort()
	}()

	done := make(chan struct{})
	go func() {
		copyHalf(conn, client)
		close(done)
	}()
	copyHalf(client, conn)
	<-done
}

// copyHalf copies src to dst until src ends, then closes dst for writing so
// the peer sees EOF while the other direction may still be sending (a
// client that half-closes after its request still gets the answer). On a
// copy error both sides are closed for reading and writing as well, so the
// other direction does not hang.
func copyHalf(dst, src net.Conn) {
	_, err := io.Copy(dst, src) // TCPConn to TCPConn: splice(2) on Linux
	if err != nil {
		dst.Close()
		src.Close()
		return
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	} else {
		dst.Close()
	}
	if cr, ok := src.(interface{ CloseRead() error }); ok {
		cr.CloseRead()
	}
}

// connectTCP picks and dials a backend; on a failed dial it marks the
// backend failed and tries the next one, and with none Ready it waits up to
// holdTimeout for one. Returns nil, nil when it gave up (the client is
// closed); otherwise the backend, already acquired.
func (p *Proxy) connectTCP(st *listenerState, l *listener) (*backend, net.Conn) {
	var tried uint64
	var deadline time.Time
	for {
		rt := st.routes[0]
		b, idx := rt.pick(tried)
		if b == nil {
			if deadline.IsZero() {
				deadline = time.Now().Add(p.holdTimeout)
			}
			next, ok := p.waitForBackends(context.Background(), st, l, deadline, tried != 0)
			if !ok {
				p.log.Warn("proxy: no backend for tcp connection", "listener", st.addr, "service", rt.cfg.Service)
				return nil, nil
			}
			if next != st {
				st = next
				if st.mode != ModeTCP {
					return nil, nil
				}
			}
			tried = 0
			continue
		}
		if !b.acquire() {
			tried |= bit(idx)
			continue
		}
		d := net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
		c, err := d.Dial("tcp", *b.addr.Load())
		if err == nil {
			return b, c
		}
		b.release()
		b.markFailed()
		tried |= bit(idx)
		if rt.m != nil {
			rt.m.retries.Inc()
		}
		p.log.Debug("proxy: tcp dial failed, trying another backend", "backend", b.id, "err", err)
	}
}
