package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The request paths a client connection can take: the fast path, net/http
// after the fast path handed the connection over (a Connection header
// naming a field does that), and net/http behind TLS.
type clientPath struct {
	name  string
	extra string // header lines added to the request head
	tls   bool
}

var clientPaths = []clientPath{
	{name: "fast"},
	{name: "net/http", extra: "Connection: X-Hop\r\nX-Hop: 1\r\n"},
	{name: "tls", tls: true},
}

const shortTimeout = 300 * time.Millisecond

// timeoutProxy serves backendAddr as "s/web" with short timeouts on the
// path's kind of listener.
func timeoutProxy(t *testing.T, path clientPath, backendAddr string) (*Proxy, func() *rawConn, func(bool)) {
	t.Helper()
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	var tlsConf *TLS
	var clientConf *tls.Config
	if path.tls {
		cert, key, pool := selfSigned(t)
		tlsConf = &TLS{CertFile: cert, KeyFile: key}
		clientConf = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	}
	cfg := func(ready bool) Config {
		return Config{Listeners: []Listener{{Addr: addr, Mode: ModeHTTP, TLS: tlsConf, Routes: []Route{{
			Service:      "s/web",
			DrainTimeout: Duration(10 * time.Second),
			Timeouts:     Timeouts{ReadBody: Duration(shortTimeout), ResponseHeader: Duration(shortTimeout), Write: Duration(shortTimeout)},
			Backends:     []Backend{be("a", backendAddr, ready)},
		}}}}}
	}
	mustApply(t, p, cfg(true))
	dial := func() *rawConn {
		if !path.tls {
			return dialRaw(t, addr)
		}
		c, err := tls.Dial("tcp", addr, clientConf)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(20 * time.Second))
		return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
	}
	return p, dial, func(ready bool) { mustApply(t, p, cfg(ready)) }
}

func backendStatus(p *Proxy) BackendStatus {
	for _, r := range p.Status() {
		for _, b := range r.Backends {
			return b
		}
	}
	return BackendStatus{}
}

// drainWithin takes the backend out of rotation and checks that its drain
// ends within d (the route's drain timeout is 10 s).
func drainWithin(t *testing.T, p *Proxy, setReady func(bool), d time.Duration) {
	t.Helper()
	setReady(false)
	start := time.Now()
	if err := p.Drain(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > d {
		t.Fatalf("drain took %v, want < %v", took, d)
	}
}

// A client that stalls mid-body gets 408 at the body read timeout, the
// backend connection is released (a drain ends at once) and the backend
// is not blamed.
func TestProxyStalledRequestBodyTimesOut(t *testing.T) {
	for _, path := range clientPaths {
		t.Run(path.name, func(t *testing.T) {
			b := startBackend(t, "a")
			p, dial, setReady := timeoutProxy(t, path, b.addr())
			c := dial()
			c.send("POST /body HTTP/1.1\r\nHost: x\r\n" + path.extra + "Content-Length: 100\r\n\r\nA")
			waitFor(t, "the request to reach the backend", 5*time.Second, func() bool { return backendStatus(p).InFlight == 1 })
			start := time.Now()
			drainWithin(t, p, setReady, 3*time.Second)
			code, _, h := c.read("POST")
			if code != http.StatusRequestTimeout || h.Get("Connection") != "close" {
				t.Fatalf("got %d %v, want 408 and Connection: close", code, h)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Fatalf("408 after %v", took)
			}
			if !c.closed() {
				t.Fatal("connection left open after a body timeout")
			}
			if s := backendStatus(p); s.Failures != 0 || s.InFlight != 0 {
				t.Fatalf("backend status %+v: a slow client is not the backend's failure", s)
			}
		})
	}
}

// A backend that does not answer gets the client a 504 after the response
// header timeout, without a retry.
func TestProxyResponseHeaderTimeout(t *testing.T) {
	for _, path := range clientPaths {
		t.Run(path.name, func(t *testing.T) {
			b := startBackend(t, "a")
			p, dial, _ := timeoutProxy(t, path, b.addr())
			c := dial()
			c.c.SetDeadline(time.Now().Add(5 * time.Second))
			start := time.Now()
			c.send("GET /stuck HTTP/1.1\r\nHost: x\r\n" + path.extra + "\r\n")
			code, body, _ := c.read("GET")
			if code != http.StatusGatewayTimeout {
				t.Fatalf("got %d %q, want 504", code, body)
			}
			if took := time.Since(start); took < shortTimeout || took > 3*time.Second {
				t.Fatalf("504 after %v, want about %v", took, shortTimeout)
			}
			if n := b.hits.Load(); n != 1 {
				t.Fatalf("backend saw %d requests, want 1 (no retry after a timeout)", n)
			}
			if s := backendStatus(p); s.Failures != 1 || s.InFlight != 0 {
				t.Fatalf("backend status %+v, want 1 failure and nothing in flight", s)
			}
			// The connection goes on.
			c.send("GET / HTTP/1.1\r\nHost: x\r\n" + path.extra + "\r\n")
			if code, body, _ := c.read("GET"); code != 200 || body != "a" {
				t.Fatalf("next request: %d %q", code, body)
			}
		})
	}
}

// A client that does not read its answer is cut at the write timeout, so
// the backend is released and a drain ends.
func TestProxyStalledReaderTimesOut(t *testing.T) {
	big := make([]byte, 64<<20)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(big)
	}))
	t.Cleanup(backend.Close)
	for _, path := range clientPaths {
		t.Run(path.name, func(t *testing.T) {
			p, dial, setReady := timeoutProxy(t, path, backend.Listener.Addr().String())
			c := dial()
			c.send("GET / HTTP/1.1\r\nHost: x\r\n" + path.extra + "\r\n")
			waitFor(t, "the request to reach the backend", 5*time.Second, func() bool { return backendStatus(p).InFlight == 1 })
			drainWithin(t, p, setReady, 3*time.Second)
			if s := backendStatus(p); s.Failures != 0 {
				t.Fatalf("backend status %+v: a slow client is not the backend's failure", s)
			}
		})
	}
}

// Errors of the client's making are answered as such and never count
// against the backend.
func TestProxyClientErrorsAreNotBackendFailures(t *testing.T) {
	for _, path := range clientPaths {
		t.Run(path.name, func(t *testing.T) {
			b := startBackend(t, "a")
			p, dial, _ := timeoutProxy(t, path, b.addr())

			// Malformed chunked framing: 400, connection closed.
			c := dial()
			c.send("POST /body HTTP/1.1\r\nHost: x\r\n" + path.extra + "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n")
			if code, body, h := c.read("POST"); code != http.StatusBadRequest || h.Get("Connection") != "close" {
				t.Fatalf("malformed chunked body: %d %q %v, want 400 and Connection: close", code, body, h)
			}

			// The client leaves mid-body.
			c = dial()
			c.send("POST /body HTTP/1.1\r\nHost: x\r\n" + path.extra + "Content-Length: 100\r\n\r\nABC")
			waitFor(t, "the request to reach the backend", 5*time.Second, func() bool { return backendStatus(p).InFlight == 1 })
			c.c.Close()
			waitFor(t, "the request to end", 5*time.Second, func() bool { return backendStatus(p).InFlight == 0 })

			// More bytes than Content-Length: the rest is the next
			// request, here garbage, which net/http refuses.
			c = dial()
			c.send("POST /body HTTP/1.1\r\nHost: x\r\n" + path.extra + "Content-Length: 3\r\n\r\nABCDEF\r\n\r\n")
			if code, body, _ := c.read("POST"); code != 200 || body != "a:ABC" {
				t.Fatalf("first request: %d %q", code, body)
			}
			if code, _, _ := c.read("GET"); code != http.StatusBadRequest {
				t.Fatalf("the extra bytes: %d, want 400", code)
			}

			if s := backendStatus(p); s.Failures != 0 {
				t.Fatalf("backend status %+v: client errors counted as backend failures", s)
			}
			c = dial()
			c.send("GET / HTTP/1.1\r\nHost: x\r\n" + path.extra + "\r\n")
			if code, body, _ := c.read("GET"); code != 200 || body != "a" {
				t.Fatalf("the backend is still served: %d %q", code, body)
			}
		})
	}
}

// A client that leaves while its protocol upgrade waits on the backend is
// not the backend's failure either.
func TestProxyUpgradeClientLeavingIsNotBackendFailure(t *testing.T) {
	b := startBackend(t, "a")
	p, dial, _ := timeoutProxy(t, clientPaths[0], b.addr())
	c := dial()
	c.send("GET /stuck HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	<-b.started
	c.c.Close()
	waitFor(t, "the request to end", 5*time.Second, func() bool { return backendStatus(p).InFlight == 0 })
	if s := backendStatus(p); s.Failures != 0 {
		t.Fatalf("backend status %+v: a client that left counted as a backend failure", s)
	}
}

// The read timeout bounds the wait for progress, not the whole body: a
// body sent slowly but steadily goes through.
func TestProxySlowSteadyBodyPasses(t *testing.T) {
	for _, path := range clientPaths {
		t.Run(path.name, func(t *testing.T) {
			b := startBackend(t, "a")
			_, dial, _ := timeoutProxy(t, path, b.addr())
			c := dial()
			c.send("POST /body HTTP/1.1\r\nHost: x\r\n" + path.extra + "Content-Length: 6\r\n\r\n")
			for _, part := range []string{"ab", "cd", "ef"} {
				time.Sleep(shortTimeout / 2) // the pace under test, not synchronisation
				c.send(part)
			}
			if code, body, _ := c.read("POST"); code != 200 || body != "a:abcdef" {
				t.Fatalf("%d %q", code, body)
			}
		})
	}
}
