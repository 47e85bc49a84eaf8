package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawConn is a client that writes bytes as given and reads responses with
// net/http's parser.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatal(err)
	}
}

// read returns the next response's status, body and header.
func (r *rawConn) read(method string) (int, string, http.Header) {
	r.t.Helper()
	resp, err := http.ReadResponse(r.br, &http.Request{Method: method})
	if err != nil {
		r.t.Fatalf("reading response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("reading body: %v", err)
	}
	resp.Body.Close()
	h := resp.Header.Clone()
	if resp.Close {
		h.Set("Connection", "close")
	}
	for k, v := range resp.Trailer {
		h["Trailer-"+k] = v
	}
	return resp.StatusCode, string(body), h
}

// closed reports whether the server closed the connection.
func (r *rawConn) closed() bool {
	r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := r.br.ReadByte()
	return err == io.EOF
}

func proxyTo(t *testing.T, backendAddr string) (string, *Proxy) {
	t.Helper()
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", backendAddr, true)}}))
	return addr, p
}

func TestFastPathPipeliningAndClose(t *testing.T) {
	b := startBackend(t, "a")
	addr, _ := proxyTo(t, b.addr())
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /echo-headers HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1\r\nConnection: close\r\n\r\n")
	if code, body, _ := c.read("GET"); code != 200 || body != "a" {
		t.Fatalf("first: %d %q", code, body)
	}
	if code, body, _ := c.read("POST"); code != 200 || body != "a:hello" {
		t.Fatalf("second: %d %q", code, body)
	}
	code, body, h := c.read("GET")
	if code != 200 || !strings.Contains(body, "X-Forwarded-For=10.0.0.1, 127.0.0.1\n") || !strings.Contains(body, "X-Forwarded-Host=x\n") ||
		!strings.Contains(body, "X-Forwarded-Proto=http\n") || !strings.Contains(body, "Connection=\n") {
		t.Fatalf("third: %d %q", code, body)
	}
	if h.Get("Connection") != "close" || !c.closed() {
		t.Fatalf("Connection: close not honoured: %v", h)
	}
}

// Requests that could be framed two ways never reach a backend; others the
// fast path does not take are served by net/http on the same connection.
func TestFastPathDelegatesToNetHTTP(t *testing.T) {
	b := startBackend(t, "a")
	addr, _ := proxyTo(t, b.addr())
	for name, req := range map[string]string{
		"two CLs":     "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		"no Host":     "GET / HTTP/1.1\r\n\r\n",
		"bad CL":      "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"bad header":  "GET / HTTP/1.1\r\nHost: x\r\nX A: 1\r\n\r\n",
		"bad version": "GET / HTTP/9.1\r\nHost: x\r\n\r\n",
		"bad escape":  "GET /% HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		before := b.hits.Load()
		c := dialRaw(t, addr)
		c.send(req)
		if code, body, _ := c.read("GET"); code/100 != 4 && code != 505 {
			t.Errorf("%s: %d %q, want a 4xx from net/http", name, code, body)
		}
		if b.hits.Load() != before {
			t.Errorf("%s reached the backend", name)
		}
	}
	// net/http reads Content-Length with Transfer-Encoding as chunked (RFC
	// 9112 6.3) and unfolds obs-fold; either way one parser decides, and
	// the bytes after the chunked body are not a second request.
	before := b.hits.Load()
	c := dialRaw(t, addr)
	c.send("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
	if code, body, _ := c.read("POST"); code != 200 || body != "a:" {
		t.Fatalf("CL and TE: %d %q", code, body)
	}
	if code, body, _ := c.read("GET"); code != 200 || body != "a" || b.hits.Load() != before+2 {
		t.Fatalf("request after CL and TE: %d %q, %d hits", code, body, b.hits.Load()-before)
	}
	c.send("GET /echo-headers HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n")
	if code, _, _ := c.read("GET"); code != 200 && code != 400 {
		t.Fatalf("obs-fold: %d", code)
	}

	// Served by net/http after the hand-over, then more requests on the
	// same connection.
	c = dialRaw(t, addr)
	c.send("GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
	if code, body, _ := c.read("GET"); code != 200 || body != "a" {
		t.Fatalf("HTTP/1.0: %d %q", code, body)
	}
	c.send("POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	if code, body, _ := c.read("POST"); code != 200 || body != "a:abc" {
		t.Fatalf("chunked upload: %d %q", code, body)
	}
	c.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 20000) + "\r\n\r\n")
	if code, body, _ := c.read("GET"); code != 200 || body != "a" {
		t.Fatalf("20 kB header: %d %q", code, body)
	}

	// Expect: 100-continue gets its interim answer before the body is sent.
	c = dialRaw(t, addr)
	c.send("POST /body HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
	line, err := c.br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("expected 100 Continue, got %q %v", line, err)
	}
	c.br.ReadString('\n')
	c.send("hi")
	if code, body, _ := c.read("POST"); code != 200 || body != "a:hi" {
		t.Fatalf("after 100-continue: %d %q", code, body)
	}
}

// Protocol upgrades (WebSocket) are spliced through by net/http.
func TestFastPathUpgrade(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "no upgrade", 400)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		io.Copy(c, brw)
	}))
	addr, _ := proxyTo(t, ln.Addr().String())
	c := dialRaw(t, addr)
	c.send("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	c.send("ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c.br, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo over the upgraded connection: %q %v", buf, err)
	}
}

// Closing the proxy closes idle keep-alive connections at once.
func TestFastPathCloseEndsIdleConnections(t *testing.T) {
	b := startBackend(t, "a")
	addr, p := proxyTo(t, b.addr())
	c := dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if code, _, _ := c.read("GET"); code != 200 {
		t.Fatal(code)
	}
	start := time.Now()
	p.Close()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %s with an idle connection", d)
	}
	if !c.closed() {
		t.Fatal("idle connection still open after Close")
	}
}
