package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func skipWithoutLoops(t *testing.T, p *Proxy) {
	t.Helper()
	if p.noLoops {
		t.Skip("event loops off (BERTH_PROXY_GOROUTINE_PER_CONN=1)")
	}
}

// fastCount is the number of connections on the goroutine fast path.
func fastCount(l *listener) int {
	l.fastMu.Lock()
	defer l.fastMu.Unlock()
	return len(l.fastConns)
}

// Keep-alive GETs stay in the event loops from the first request to the
// last: no connection reaches the goroutine path.
func TestEventLoopCarriesKeepAlive(t *testing.T) {
	b := startBackend(t, "a")
	addr, p := proxyTo(t, b.addr())
	skipWithoutLoops(t, p)
	l := p.listeners[addr]
	conns := make([]*rawConn, 4)
	for i := range conns {
		conns[i] = dialRaw(t, addr)
	}
	for n := range 200 {
		for _, c := range conns {
			c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if code, body, _ := c.read("GET"); code != 200 || body != "a" {
				t.Fatalf("request %d: %d %q", n, code, body)
			}
		}
	}
	if got := l.loopConns.Load(); got != 4 {
		t.Fatalf("event loops hold %d connections, want 4", got)
	}
	if n := fastCount(l); n != 0 {
		t.Fatalf("%d connections went to the goroutine path", n)
	}
	// HEAD and OPTIONS too; X-Forwarded-* as on the other paths.
	c := conns[0]
	c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
	if code, body, _ := c.read("HEAD"); code != 200 || body != "" {
		t.Fatalf("HEAD: %d %q", code, body)
	}
	c.send("GET /echo-headers HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n")
	_, body, _ := c.read("GET")
	if !strings.Contains(body, "X-Forwarded-For=10.0.0.1, 127.0.0.1\n") || !strings.Contains(body, "X-Forwarded-Proto=http\n") || !strings.Contains(body, "X-Forwarded-Host=x\n") {
		t.Fatalf("forwarded headers: %q", body)
	}
	if n := fastCount(l); n != 0 {
		t.Fatalf("%d connections went to the goroutine path", n)
	}
	for _, c := range conns {
		c.c.Close()
	}
	waitFor(t, "the loops to let go of closed connections", 5*time.Second, func() bool { return l.loopConns.Load() == 0 })
}

// What a loop does not take — a body, a chunked answer, an unknown host —
// goes with the connection to the goroutine path, which answers it and
// the requests after it.
func TestEventLoopHandsOverWhatItDoesNotTake(t *testing.T) {
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			io.WriteString(w, "part1,")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part2")
		case "/body":
			data, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "got:%s", data)
		default:
			io.WriteString(w, "plain")
		}
	}))
	t.Cleanup(back.Close)
	p := newTestProxy(t, Options{})
	skipWithoutLoops(t, p)
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Hosts: []string{"x"}, Backends: []Backend{be("a", back.Listener.Addr().String(), true)}}))
	l := p.listeners[addr]
	for _, tc := range []struct {
		name, req, method string
		code              int
		body              string
	}{
		{"chunked answer", "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n", "GET", 200, "part1,part2"},
		{"request body", "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", "POST", 200, "got:hello"},
		{"unknown host", "GET / HTTP/1.1\r\nHost: nope\r\n\r\n", "GET", 404, `no service for host "nope"` + "\n"},
	} {
		c := dialRaw(t, addr)
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if code, body, _ := c.read("GET"); code != 200 || body != "plain" {
			t.Fatalf("%s: first request: %d %q", tc.name, code, body)
		}
		c.send(tc.req)
		if code, body, _ := c.read(tc.method); code != tc.code || body != tc.body {
			t.Fatalf("%s: %d %q, want %d %q", tc.name, code, body, tc.code, tc.body)
		}
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if code, body, _ := c.read("GET"); code != 200 || body != "plain" {
			t.Fatalf("%s: request after: %d %q", tc.name, code, body)
		}
		if n := fastCount(l); n != 1 {
			t.Fatalf("%s: %d connections on the goroutine path, want 1", tc.name, n)
		}
		c.c.Close()
		waitFor(t, "the connection to end", 5*time.Second, func() bool { return fastCount(l) == 0 && l.loopConns.Load() == 0 })
	}
}

// A backend that closes its keep-alive connections after every answer
// costs the client nothing: a closed pooled connection is dropped, and a
// request that met one just as it closed is tried again.
func TestEventLoopStalePooledConnections(t *testing.T) {
	back := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	back.Config.IdleTimeout = time.Millisecond
	back.Start()
	t.Cleanup(back.Close)
	addr, p := proxyTo(t, back.Listener.Addr().String())
	skipWithoutLoops(t, p)
	c := dialRaw(t, addr)
	for n := range 300 {
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if code, body, _ := c.read("GET"); code != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q", n, code, body)
		}
	}
}

// No response head within the route's ResponseHeader timeout: 504, and
// the connection carries on.
func TestEventLoopResponseHeaderTimeout(t *testing.T) {
	b := startBackend(t, "a")
	p := newTestProxy(t, Options{})
	skipWithoutLoops(t, p)
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Timeouts: Timeouts{ResponseHeader: Duration(300 * time.Millisecond)},
		Backends: []Backend{be("a", b.addr(), true)}}))
	c := dialRaw(t, addr)
	start := time.Now()
	c.send("GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
	code, body, _ := c.read("GET")
	if code != http.StatusGatewayTimeout || !strings.Contains(body, "no response from backend") {
		t.Fatalf("stuck: %d %q", code, body)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
		t.Fatalf("504 after %s with a 300ms timeout", d)
	}
	waitFor(t, "the backend to see the request abandoned", 5*time.Second, func() bool { return b.inflight.Load() == 0 })
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if code, body, _ := c.read("GET"); code != 200 || body != "a" {
		t.Fatalf("after the 504: %d %q", code, body)
	}
}

// A large answer to a client that reads slowly arrives whole: the loop
// stops reading the backend while the client's socket is full.
func TestEventLoopBackpressure(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
		w.Write(payload)
	}))
	t.Cleanup(back.Close)
	addr, p := proxyTo(t, back.Listener.Addr().String())
	skipWithoutLoops(t, p)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	for range 2 {
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	// Read nothing until the loop has found the client's socket full.
	waitFor(t, "a write to wait for the client", 10*time.Second, func() bool { return loopWriteWaiting(p) })
	rc := &rawConn{t: t, c: conn, br: bufioReaderSize(conn, 512)}
	want := sha256.Sum256(payload)
	for i := range 2 {
		code, body, _ := rc.read("GET")
		if code != 200 || sha256.Sum256([]byte(body)) != want {
			t.Fatalf("answer %d: %d, %d bytes, want the %d-byte payload", i, code, len(body), len(payload))
		}
	}
}

// A backend that breaks off mid-body breaks the client connection: the
// client sees a short body, never a complete-looking one.
func TestEventLoopBackendDiesMidBody(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				c.Read(buf)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part")
			}()
		}
	}()
	addr, p := proxyTo(t, ln.Addr().String())
	skipWithoutLoops(t, p)
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err == nil || string(body) != "only a part" {
		t.Fatalf("body %q, err %v: want the part and an unexpected EOF", body, err)
	}
}

func FuzzScanResponseHead(f *testing.F) {
	for _, s := range []string{"HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 200 OK\nA: b\n\nbody", "\r\n", "\n", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", "partial\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n := scanResponseHead(b)
		// Reference: the first empty line ("\n" or "\r\n" on its own),
		// as readResponseHead's line reader finds it.
		want, off := 0, 0
		for off < len(b) {
			i := bytes.IndexByte(b[off:], '\n')
			if i < 0 {
				break
			}
			line := b[off : off+i+1]
			off += i + 1
			if len(line) == 1 || len(line) == 2 && line[0] == '\r' {
				want = off
				break
			}
		}
		if n != want {
			t.Fatalf("scanResponseHead(%q) = %d, want %d", b, n, want)
		}
	})
}

// loopWriteWaiting reports whether a loop of p has an answer waiting for
// room in a client's socket.
func loopWriteWaiting(p *Proxy) bool {
	ls := p.loops.Load()
	if ls == nil {
		return false // not started yet
	}
	waiting := make(chan bool, len(ls.loops))
	for _, lp := range ls.loops {
		lp.post(func() {
			w := false
			for c := range lp.clients {
				w = w || c.writeAt != 0
			}
			waiting <- w
		})
	}
	any := false
	for range ls.loops {
		any = <-waiting || any
	}
	return any
}

func bufioReaderSize(r io.Reader, n int) *bufio.Reader { return bufio.NewReaderSize(r, n) }

// HTTP/1.1 over TLS is carried by the loops too: X-Forwarded-Proto is
// https and HSTS is on every answer; what a loop hands over (a body, an
// Expect: 100-continue request that net/http serves) still knows it came
// over TLS; an h2 client still gets HTTP/2.
func TestEventLoopTLS(t *testing.T) {
	b := startBackend(t, "a")
	certFile, keyFile, pool := selfSigned(t)
	p := newTestProxy(t, Options{})
	skipWithoutLoops(t, p)
	addr := freeAddr(t)
	cfg := httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", b.addr(), true)}})
	cfg.Listeners[0].TLS = &TLS{CertFile: certFile, KeyFile: keyFile, HSTS: Duration(time.Hour)}
	mustApply(t, p, cfg)
	l := p.listeners[addr]
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	c := &rawConn{t: t, c: conn, br: bufio.NewReader(conn)}
	for n := range 100 {
		c.send("GET /echo-headers HTTP/1.1\r\nHost: x\r\n\r\n")
		code, body, h := c.read("GET")
		if code != 200 || !strings.Contains(body, "X-Forwarded-Proto=https\n") || h.Get("Strict-Transport-Security") != "max-age=3600" {
			t.Fatalf("request %d: %d %q %v", n, code, body, h)
		}
	}
	waitFor(t, "the TLS connection to be in a loop", 5*time.Second, func() bool { return l.loopConns.Load() == 1 })
	if n := fastCount(l); n != 0 {
		t.Fatalf("%d connections on the goroutine path", n)
	}
	// A body: the goroutine fast path, still https.
	c.send("POST /echo-headers HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
	if code, body, h := c.read("POST"); code != 200 || !strings.Contains(body, "X-Forwarded-Proto=https\n") || h.Get("Strict-Transport-Security") != "max-age=3600" {
		t.Fatalf("POST: %d %q %v", code, body, h)
	}
	// Expect: 100-continue: net/http, still https.
	c.send("POST /echo-headers HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil || resp.StatusCode != http.StatusContinue {
		t.Fatalf("expected 100 Continue: %v %v", resp, err)
	}
	c.send("hi")
	if code, body, _ := c.read("POST"); code != 200 || !strings.Contains(body, "X-Forwarded-Proto=https\n") {
		t.Fatalf("Expect POST: %d %q", code, body)
	}
	// HTTP/2 as before.
	resp, err = h2Client(pool).Get("https://" + addr + "/echo-headers")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || !strings.Contains(string(body), "X-Forwarded-Proto=https") {
		t.Fatalf("h2: %s %q", resp.Proto, body)
	}
}

// A large answer over TLS to a client that reads late arrives whole.
func TestEventLoopTLSBackpressure(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
		w.Write(payload)
	}))
	t.Cleanup(back.Close)
	p, addr, _, pool := tlsProxy(t, Route{Service: "s/web", Backends: []Backend{be("a", back.Listener.Addr().String(), true)}})
	skipWithoutLoops(t, p)
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	for range 2 {
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	waitFor(t, "a write to wait for the client", 10*time.Second, func() bool { return loopWriteWaiting(p) })
	rc := &rawConn{t: t, c: conn, br: bufio.NewReader(conn)}
	want := sha256.Sum256(payload)
	for i := range 2 {
		code, body, _ := rc.read("GET")
		if code != 200 || sha256.Sum256([]byte(body)) != want {
			t.Fatalf("answer %d: %d, %d bytes, want the %d-byte payload", i, code, len(body), len(payload))
		}
	}
}
