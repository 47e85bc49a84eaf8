package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// listener owns one host socket for as long as its Addr stays in the
// config. The accept loop reads the current snapshot for every connection,
// so mode, routes and certificate change without closing the socket.
type listener struct {
	p     *Proxy
	ln    net.Listener
	state atomic.Pointer[listenerState]

	// HTTP connections are handed to one http.Server through conns.
	srv     *http.Server
	conns   chan net.Conn
	tlsConf *tls.Config

	closeOnce sync.Once
	closed    chan struct{}
	// ctx ends when the listener closes: TLS handshakes stop.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // accept loop and http.Server returned

	// Plain-HTTP connections served by the fast path (h1server.go).
	fastMu      sync.Mutex
	fastConns   map[*fastConn]struct{}
	fastClosing atomic.Bool
	fastWG      sync.WaitGroup
	// loopConns counts the client connections event loops hold.
	loopConns atomic.Int64

	tcpWG    sync.WaitGroup // TCP connections being spliced
	tcpMu    sync.Mutex
	tcpConns map[*splice]struct{}
}

func newListener(p *Proxy, ln net.Listener, st *listenerState) *listener {
	l := &listener{
		p:      p,
		ln:     ln,
		conns:  make(chan net.Conn),
		closed: make(chan struct{}),
		done:   make(chan struct{}),

		tcpConns:  map[*splice]struct{}{},
		fastConns: map[*fastConn]struct{}{},
	}
	l.state.Store(st)
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.tlsConf = &tls.Config{
		MinVersion: tls.VersionTLS12,
		// HTTP/2 to clients that offer it (ALPN); the http.Server below
		// serves it (its TLSConfig is nil, so Serve sets HTTP/2 up for
		// the TLS connections it is handed). h2c is not offered.
		// acme-tls/1 only ever answers a CA's TLS-ALPN-01 validation.
		NextProtos: []string{"h2", "http/1.1", acmeTLSALPNProto},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			st := l.state.Load()
			if st.auto {
				// Only the hosts routed here: SNI picks the certificate.
				if _, ok := st.byHost[normalizeHost(hello.ServerName)]; !ok {
					return nil, fmt.Errorf("no route on %s for server name %q", st.addr, hello.ServerName)
				}
				if m := l.p.acme.Load(); m != nil {
					return m.GetCertificate(hello)
				}
			}
			if st.cert != nil {
				return st.cert, nil
			}
			return nil, errors.New("listener has no certificate")
		},
	}
	l.srv = &http.Server{
		Handler:           l,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		// The handler finds the client connection here to set the
		// route's timeouts on it (timeouts.go).
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	return l
}

func (l *listener) start() {
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); l.acceptLoop() }()
	go func() { defer wg.Done(); _ = l.srv.Serve(chanListener{l}) }()
	go func() { defer wg.Done(); l.sweep() }()
	go func() { wg.Wait(); close(l.done) }()
}

func (l *listener) acceptLoop() {
	var backoff time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			select {
			case <-l.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) {
				// Out of file descriptors and the like: wait and go on
				// rather than closing a published port.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				l.p.log.Warn("proxy accept", "addr", l.ln.Addr().String(), "err", err)
				select {
				case <-time.After(backoff):
				case <-l.closed:
					return
				}
				continue
			}
			l.p.log.Error("proxy accept stopped", "addr", l.ln.Addr().String(), "err", err)
			return
		}
		backoff = 0
		st := l.state.Load()
		if st.mode == ModeTCP {
			l.tcpWG.Add(1)
			go func() { defer l.tcpWG.Done(); l.serveTCP(c, st) }()
			continue
		}
		if !st.tls {
			if ls := l.p.eventLoops(); ls != nil && ls.take(l, c) {
				continue
			}
			l.fastWG.Add(1)
			go func() { defer l.fastWG.Done(); l.serveFast(c) }()
			continue
		}
		tc := &timedConn{Conn: c}
		tc.writeTimeout.Store(int64(st.write))
		l.fastWG.Add(1)
		go func() { defer l.fastWG.Done(); l.serveTLS(c, tc) }()
	}
}

// close stops accepting at once; in-flight HTTP requests and TCP
// connections go on until done or ctx ends, then they are cut.
func (l *listener) close(ctx context.Context) {
	l.closeOnce.Do(func() {
		close(l.closed)
		l.ln.Close()
	})
	l.cancel()
	fastDone := make(chan struct{})
	go func() { l.closeFast(ctx); close(fastDone) }()
	if err := l.srv.Shutdown(ctx); err != nil {
		l.srv.Close()
	}
	<-fastDone
	tcpDone := make(chan struct{})
	go func() { l.tcpWG.Wait(); close(tcpDone) }()
	select {
	case <-tcpDone:
	case <-ctx.Done():
		// A listener that goes away must not leave its clients open forever.
		l.tcpMu.Lock()
		for s := range l.tcpConns {
			s.abort()
		}
		l.tcpMu.Unlock()
		<-tcpDone
	}
	<-l.done
	l.fastWG.Wait()
}

// chanListener feeds the accept loop's HTTP connections to http.Server.
type chanListener struct{ l *listener }

func (c chanListener) Accept() (net.Conn, error) {
	select {
	case conn := <-c.l.conns:
		return conn, nil
	case <-c.l.closed:
		return nil, net.ErrClosed
	}
}

func (c chanListener) Close() error {
	c.l.closeOnce.Do(func() {
		close(c.l.closed)
		c.l.ln.Close()
	})
	return nil
}

func (c chanListener) Addr() net.Addr { return c.l.ln.Addr() }
