package proxy

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tlsProxy serves routes on a TLS listener with a self-signed
// certificate for 127.0.0.1; it returns the proxy, the address, the
// certificate file and a pool trusting it.
func tlsProxy(t *testing.T, routes ...Route) (*Proxy, string, string, *x509.CertPool) {
	t.Helper()
	certFile, keyFile, pool := selfSigned(t)
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	cfg := httpConfig(addr, routes...)
	cfg.Listeners[0].TLS = &TLS{CertFile: certFile, KeyFile: keyFile}
	mustApply(t, p, cfg)
	return p, addr, certFile, pool
}

// h2Client speaks HTTP/2 over one connection (MaxConnsPerHost 1).
func h2Client(pool *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true, MaxConnsPerHost: 1,
	}}
}

// Clients that offer h2 get HTTP/2 (Go's client and curl --http2), many
// streams share one connection, and a deploy under that load — the old
// backend out of rotation and drained, a new one in — fails no request.
func TestHTTP2OverTLS(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	route := func(aReady, bReady bool) Route {
		return Route{Service: "s/web", Backends: []Backend{be("a", a.addr(), aReady), be("b", b.addr(), bReady)}}
	}
	p, addr, certFile, pool := tlsProxy(t, route(true, false))
	c := h2Client(pool)
	resp, err := c.Get("https://" + addr + "/echo-headers")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || !strings.Contains(string(body), "X-Forwarded-Proto=https") {
		t.Fatalf("h2: %s %d %s", resp.Proto, resp.StatusCode, body)
	}
	// A request body over h2.
	resp, err = c.Post("https://"+addr+"/body", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(body) != "a:hello" {
		t.Fatalf("h2 POST: %s %s", resp.Proto, body)
	}
	// A client offering only http/1.1 still gets it.
	h1 := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err = h1.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 1 {
		t.Fatalf("an http/1.1-only client got %s", resp.Proto)
	}
	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-sS", "--http2", "--cacert", certFile, "-o", os.DevNull, "-w", "%{http_version}", "https://"+addr+"/").CombinedOutput()
		if err != nil || string(out) != "2" {
			t.Fatalf("curl --http2: %v: %s", err, out)
		}
	}

	// Deploy under h2 load: 32 concurrent streams on one connection.
	c = h2Client(pool)
	var conns atomic.Int64
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if !i.Reused {
			conns.Add(1)
		}
	}}
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", "https://"+addr+"/", nil)
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
				resp, err := c.Do(req)
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
						err = fmt.Errorf("%s %d %s", resp.Proto, resp.StatusCode, body)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		}()
	}
	waitFor(t, "h2 load", 10*time.Second, func() bool { return ok.Load() > 200 })
	mustApply(t, p, httpConfigTLS(p, route(true, true)))
	mustApply(t, p, httpConfigTLS(p, route(false, true)))
	if err := p.Drain(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	mark := b.hits.Load()
	waitFor(t, "h2 load on the new backend", 10*time.Second, func() bool { return b.hits.Load() > mark+200 })
	close(stop)
	wg.Wait()
	t.Logf("%d h2 requests over %d connection(s), %d failed", ok.Load(), conns.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed during the deploy; first: %v", failed.Load(), firstErr.Load())
	}
	if conns.Load() != 1 {
		t.Fatalf("%d connections for one h2 client", conns.Load())
	}
}

// httpConfigTLS is p's current config with new routes on its listener.
func httpConfigTLS(p *Proxy, routes ...Route) Config {
	cfg := p.Config()
	cfg.Listeners[0].Routes = routes
	return cfg
}

// The body read timeout of an HTTP/2 request is its stream's own: a
// stalled upload gets 408 while other streams on the same connection go
// on, and the connection stays usable.
func TestHTTP2BodyTimeoutIsPerStream(t *testing.T) {
	b := startBackend(t, "a")
	_, addr, _, pool := tlsProxy(t, Route{Service: "s/web", Timeouts: Timeouts{ReadBody: Duration(300 * time.Millisecond)},
		Backends: []Backend{be("a", b.addr(), true)}})
	c := h2Client(pool)
	var conns atomic.Int64
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if !i.Reused {
			conns.Add(1)
		}
	}}
	do := func(req *http.Request) (*http.Response, error) {
		return c.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	stalled := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest("POST", "https://"+addr+"/body", pr)
		req.ContentLength = 100
		resp, err := do(req)
		if err != nil {
			t.Error(err)
			close(stalled)
			return
		}
		stalled <- resp
	}()
	pw.Write([]byte("part")) // then nothing
	// Meanwhile other streams are answered.
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest("GET", "https://"+addr+"/", nil)
		resp, err := do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
			t.Fatalf("a stream beside the stalled one: %s %d", resp.Proto, resp.StatusCode)
		}
	}
	resp := <-stalled
	if resp == nil {
		t.FailNow()
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("stalled upload: %d, want 408", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", "https://"+addr+"/", nil)
	resp2, err := do(req)
	if err != nil {
		t.Fatalf("the connection after a stream's body timeout: %v", err)
	}
	resp2.Body.Close()
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections: the body timeout cut the shared connection", n)
	}
}

// WebSockets through TLS: a client offering http/1.1 upgrades, and the
// echo runs over the spliced connection.
func TestWebSocketThroughTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" || r.Header.Get("X-Forwarded-Proto") != "https" {
			http.Error(w, "no upgrade", 400)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		brw.Flush()
		io.Copy(c, brw)
	}))
	_, addr, _, pool := tlsProxy(t, Route{Service: "s/ws", Backends: []Backend{be("a", ln.Addr().String(), true)}})
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade over TLS: %v %v", resp, err)
	}
	for _, msg := range []string{"ping", "pong!"} {
		io.WriteString(conn, msg)
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo over the upgraded TLS connection: %q %v", buf, err)
		}
	}
}

// The write timeout of an HTTP/2 answer is its stream's own: a client
// that stops reading one stream has that stream cut after the timeout
// (the replica released) while its other streams on the connection go on.
func TestHTTP2WriteTimeoutIsPerStream(t *testing.T) {
	var inflight atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/big" {
			io.WriteString(w, "small")
			return
		}
		inflight.Add(1)
		defer inflight.Add(-1)
		chunk := make([]byte, 32<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(backend.Close)
	_, addr, _, pool := tlsProxy(t, Route{Service: "s/web", Timeouts: Timeouts{Write: Duration(300 * time.Millisecond)},
		Backends: []Backend{be("a", backend.Listener.Addr().String(), true)}})
	c := h2Client(pool)
	var conns atomic.Int64
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if !i.Reused {
			conns.Add(1)
		}
	}}
	get := func(path string) (*http.Response, error) {
		req, _ := http.NewRequest("GET", "https://"+addr+path, nil)
		return c.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	}
	stalled, err := get("/big")
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Body.Close() // never read: the client's stream window fills
	waitFor(t, "the stalled stream cut and the replica released", 5*time.Second, func() bool { return inflight.Load() == 0 })
	resp, err := get("/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "small" || resp.ProtoMajor != 2 {
		t.Fatalf("a stream after the cut one: %s %q", resp.Proto, body)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections: the write timeout cut the shared connection", n)
	}
}
