package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The hand-written backend client must handle what http.Transport would:
// chunked and large bodies both ways, HEAD, streaming, trailers, interim
// responses and backends that close keep-alive connections.
func TestClientBodiesAndFraming(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sum":
			h := sha256.New()
			n, _ := io.Copy(h, r.Body)
			fmt.Fprintf(w, "%d %x %d %v", n, h.Sum(nil), r.ContentLength, r.TransferEncoding)
		case "/big":
			w.Header().Set("Content-Length", "3000000")
			w.Write(bytes.Repeat([]byte("x"), 3000000))
		case "/stream":
			w.Header().Set("Trailer", "X-Done")
			for i := 0; i < 3; i++ {
				fmt.Fprintf(w, "tick %d\n", i)
				w.(http.Flusher).Flush()
				time.Sleep(20 * time.Millisecond)
			}
			w.Header().Set("X-Done", "yes")
		case "/early":
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			io.WriteString(w, "after hints")
		case "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "closing")
		default:
			w.Header().Set("X-Path", r.URL.RequestURI())
			io.WriteString(w, "hello")
		}
	}))
	defer backend.Close()
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", backend.Listener.Addr().String(), true)}}))
	c := newClient()
	base := "http://" + addr

	payload := bytes.Repeat([]byte("0123456789"), 100000)
	want := fmt.Sprintf("%d %x", len(payload), sha256.Sum256(payload))
	// Content-Length body.
	resp, err := c.Post(base+"/sum", "application/octet-stream", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(got), want+" 1000000 ") {
		t.Fatalf("sized body: %s", got)
	}
	// Chunked body (unknown length).
	resp, err = c.Post(base+"/sum", "application/octet-stream", io.MultiReader(bytes.NewReader(payload)))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != want+" -1 [chunked]" {
		t.Fatalf("chunked body: %s", got)
	}
	// Large response.
	resp, err = c.Get(base + "/big")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n != 3000000 || resp.ContentLength != 3000000 {
		t.Fatalf("big: %d bytes, length %d", n, resp.ContentLength)
	}
	// HEAD has headers and no body.
	resp, err = c.Head(base + "/big")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != 3000000 {
		t.Fatalf("HEAD: %d length %d", resp.StatusCode, resp.ContentLength)
	}
	// Query strings and escaped paths pass unchanged.
	resp, err = c.Get(base + "/a%2Fb/c?x=1&y=%20")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Path"); got != "/a%2Fb/c?x=1&y=%20" {
		t.Fatalf("request URI at the backend: %q", got)
	}
	// Streaming: the first line arrives before the backend is done, and
	// the trailer makes it through.
	resp, err = c.Get(base + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "tick 0\n" {
		t.Fatalf("first streamed line: %q %v", line, err)
	}
	rest, _ := io.ReadAll(br)
	resp.Body.Close()
	if string(rest) != "tick 1\ntick 2\n" || resp.Trailer.Get("X-Done") != "yes" {
		t.Fatalf("stream rest %q trailer %v", rest, resp.Trailer)
	}
	// 103 Early Hints is skipped; the final answer comes through.
	if got := mustGet(t, c, base+"/early"); got != "after hints" {
		t.Fatalf("after 103: %q", got)
	}
	// A backend answering "Connection: close" is not reused, and the next
	// request still works.
	for i := 0; i < 3; i++ {
		if got := mustGet(t, c, base+"/close"); got != "closing" {
			t.Fatalf("close %d: %q", i, got)
		}
	}
	if got := mustGet(t, c, base+"/"); got != "hello" {
		t.Fatalf("after close: %q", got)
	}
}

// A backend that closes idle keep-alive connections quickly must not cause
// errors, for GETs (retried) and POSTs (idle connections are checked first).
func TestClientStaleKeepAlive(t *testing.T) {
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}))
	backend.Config.IdleTimeout = 20 * time.Millisecond
	backend.Start()
	defer backend.Close()
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", backend.Listener.Addr().String(), true)}}))
	c := newClient()
	for i := 0; i < 5; i++ {
		mustGet(t, c, "http://"+addr+"/")
		resp, err := c.Post("http://"+addr+"/", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST on a stale pool: %d", resp.StatusCode)
		}
		// Let the backend close the pooled connection.
		waitFor(t, "backend to close idle connections", 5*time.Second, func() bool {
			conn, err := net.Dial("tcp", addr) // any activity; the check is the pool's
			if err == nil {
				conn.Close()
			}
			return poolClosedByPeer(p, "a")
		})
	}
}

// poolClosedByPeer reports whether every pooled connection of a backend
// was closed by the backend (test hook).
func poolClosedByPeer(p *Proxy, id string) bool {
	p.mu.Lock()
	b := p.backends[id]
	p.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, bc := range b.idle {
		if bc.alive() {
			return false
		}
	}
	return true
}
