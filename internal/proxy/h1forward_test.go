package proxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// rawBackend answers every request on a connection with resp, then
// closes the connection if closeAfter.
func rawBackend(t *testing.T, resp string, closeAfter bool) string {
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
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					io.WriteString(c, resp)
					if closeAfter {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestFastPathResponseFraming(t *testing.T) {
	// Ends when the backend closes: re-framed as chunked for the client,
	// whose connection stays open.
	addr, _ := proxyTo(t, rawBackend(t, "HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\nuntil close", true))
	c := dialRaw(t, addr)
	for i := 0; i < 2; i++ {
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if code, body, h := c.read("GET"); code != 200 || body != "until close" || h.Get("X-A") != "1" || h.Get("Connection") == "close" {
			t.Fatalf("close-delimited %d: %d %q %v", i, code, body, h)
		}
	}
	// Chunked with extensions and a trailer; hop-by-hop headers dropped.
	addr, _ = proxyTo(t, rawBackend(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 1\r\n\r\n"+
		"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n", false))
	c = dialRaw(t, addr)
	for i := 0; i < 2; i++ {
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		code, body, h := c.read("GET")
		if code != 200 || body != "hello world" || h.Get("Trailer-X-Sum") != "42" || h.Get("X-Hop") != "" || h.Get("Keep-Alive") != "" {
			t.Fatalf("chunked %d: %d %q %v", i, code, body, h)
		}
	}
	// Conflicting lengths are refused with a 502.
	addr, _ = proxyTo(t, rawBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", false))
	c = dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if code, _, _ := c.read("GET"); code != 502 {
		t.Fatalf("conflicting lengths: %d", code)
	}
	// A body cut short breaks the client connection.
	addr, _ = proxyTo(t, rawBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true))
	c = dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("truncated body read without error")
	}
}

// A client that leaves while its request waits on the backend cancels the
// backend request, so a drain is not held up by it.
func TestFastPathClientGoneAbortsBackend(t *testing.T) {
	b := startBackend(t, "a")
	addr, p := proxyTo(t, b.addr())
	c := dialRaw(t, addr)
	c.send("GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
	<-b.started
	c.c.Close()
	waitFor(t, "the backend request to be cancelled", 5*time.Second, func() bool {
		return b.inflight.Load() == 0 && p.Status()[0].Backends[0].InFlight == 0
	})
	// Waiting for a Ready backend stops too.
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", b.addr(), false)}}))
	c = dialRaw(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "request waiting", 5*time.Second, func() bool { return waitingRequests(p) == 1 })
	c.c.Close()
	waitFor(t, "the wait to end", 5*time.Second, func() bool { return waitingRequests(p) == 0 })
}

type failingWriter struct{}

var (
	errWriteBroken = errors.New("write broken")
	errReadBroken  = errors.New("read broken")
)

func (failingWriter) Write([]byte) (int, error) { return 0, errWriteBroken }

// The pumps tell their source's failures (the backend's, for a response)
// from their destination's (the client's): one error, the destination's
// marked.
func TestPumpsTellReadFromWriteFailures(t *testing.T) {
	pumps := map[string]struct {
		pump func(dst *bufio.Writer, src *bufio.Reader) error
		body string // complete, for the write failure
	}{
		"length":      {func(dst *bufio.Writer, src *bufio.Reader) error { return pump(dst, src, 5) }, "hello"},
		"chunked":     {pumpChunked, "5\r\nhello\r\n0\r\n\r\n"},
		"until close": {pumpUntilClose, "hello"},
	}
	for name, p := range pumps {
		t.Run(name, func(t *testing.T) {
			var out strings.Builder
			if err := p.pump(bufio.NewWriter(&out), bufio.NewReader(strings.NewReader(p.body))); err != nil {
				t.Fatalf("complete body: %v", err)
			}
			// A destination that fails (bufio.Writer size 1: every write
			// reaches it).
			err := p.pump(bufio.NewWriterSize(failingWriter{}, 1), bufio.NewReader(strings.NewReader(p.body)))
			if werr := writeErr(err); !errors.Is(werr, errWriteBroken) {
				t.Fatalf("write failure: %v, writeErr %v", err, werr)
			}
			// A source that fails part way.
			src := io.MultiReader(strings.NewReader(p.body[:3]), iotest.ErrReader(errReadBroken))
			err = p.pump(bufio.NewWriter(io.Discard), bufio.NewReader(src))
			if !errors.Is(err, errReadBroken) || writeErr(err) != nil {
				t.Fatalf("read failure: %v, writeErr %v", err, writeErr(err))
			}
		})
	}
}
