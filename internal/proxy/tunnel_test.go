package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// wsBackend is a real WebSocket server (golang.org/x/net/websocket): it
// echoes text messages and, with ?stream=1, sends binary frames meanwhile
// without pause. It keeps the bytes every connection received, so a test
// can check what the proxy sent it.
type wsBackend struct {
	srv   *httptest.Server
	ended chan error // each connection's last Receive error, as it ends

	mu       sync.Mutex
	received []*bytes.Buffer
}

func startWSBackend(t *testing.T) *wsBackend {
	t.Helper()
	wb := &wsBackend{ended: make(chan error, 16)}
	handler := websocket.Server{Handler: func(ws *websocket.Conn) {
		if ws.Request().URL.Query().Get("stream") != "" {
			go func() {
				// Larger than the proxy's 32 KiB reads, and small ones.
				sizes := []int{70000, 3, 40000, 1000, 125, 126}
				for i := 0; ; i++ {
					if websocket.Message.Send(ws, make([]byte, sizes[i%len(sizes)])) != nil {
						return
					}
				}
			}()
		}
		for {
			var msg string
			if err := websocket.Message.Receive(ws, &msg); err != nil {
				wb.ended <- err
				return
			}
			if websocket.Message.Send(ws, msg) != nil {
				return
			}
		}
	}}
	wb.srv = httptest.NewUnstartedServer(handler)
	wb.srv.Listener = &recListener{Listener: wb.srv.Listener, wb: wb}
	wb.srv.Start()
	t.Cleanup(wb.srv.Close)
	return wb
}

func (wb *wsBackend) addr() string { return wb.srv.Listener.Addr().String() }

// lastReceived is a copy of what the last connection received.
func (wb *wsBackend) lastReceived() []byte {
	wb.mu.Lock()
	defer wb.mu.Unlock()
	if len(wb.received) == 0 {
		return nil
	}
	return bytes.Clone(wb.received[len(wb.received)-1].Bytes())
}

type recListener struct {
	net.Listener
	wb *wsBackend
}

func (l *recListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	buf := &bytes.Buffer{}
	l.wb.mu.Lock()
	l.wb.received = append(l.wb.received, buf)
	l.wb.mu.Unlock()
	return &recConn{Conn: c, wb: l.wb, buf: buf}, nil
}

type recConn struct {
	net.Conn
	wb  *wsBackend
	buf *bytes.Buffer
}

func (c *recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.wb.mu.Lock()
	c.buf.Write(p[:n])
	c.wb.mu.Unlock()
	return n, err
}

// wsClient is a minimal WebSocket client that reads frames strictly: a
// torn or malformed frame from the proxy is an error, never skipped.
type wsClient struct {
	c  net.Conn
	br *bufio.Reader
	wm sync.Mutex
}

func dialWS(t *testing.T, addr, path string, tlsConf *tls.Config) *wsClient {
	t.Helper()
	var c net.Conn
	var err error
	if tlsConf != nil {
		c, err = tls.Dial("tcp", addr, tlsConf)
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, key)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("handshake: %s %v", resp.Status, resp.Header)
	}
	return &wsClient{c: c, br: br}
}

func (c *wsClient) send(op byte, payload []byte) error {
	var key [4]byte
	rand.Read(key[:])
	c.wm.Lock()
	defer c.wm.Unlock()
	_, err := c.c.Write(wsFrame(op, payload, key[:]))
	return err
}

// readFrame reads one whole frame from the server. io.EOF: the connection
// ended between frames; anything else that ends it is a torn frame.
func (c *wsClient) readFrame() (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return 0, nil, errors.New("torn frame header")
		}
		return 0, nil, err // io.EOF between frames
	}
	op = h[0] & 0x0f
	if h[0]&0x70 != 0 {
		return 0, nil, fmt.Errorf("reserved bits set: % x", h)
	}
	switch op {
	case 0, 1, 2, 8, 9, 10:
	default:
		return 0, nil, fmt.Errorf("unknown opcode %d", op)
	}
	if h[1]&0x80 != 0 {
		return 0, nil, errors.New("a masked frame from the server")
	}
	n := uint64(h[1] & 0x7f)
	var ext []byte
	switch n {
	case 126:
		ext = make([]byte, 2)
	case 127:
		ext = make([]byte, 8)
	}
	if _, err := io.ReadFull(c.br, ext); err != nil {
		return 0, nil, fmt.Errorf("torn frame length: %v", err)
	}
	switch len(ext) {
	case 2:
		n = uint64(binary.BigEndian.Uint16(ext))
	case 8:
		n = binary.BigEndian.Uint64(ext)
	}
	if op >= 8 && (h[0]&0x80 == 0 || n > 125) {
		return 0, nil, fmt.Errorf("control frame %d: fin %v, %d bytes", op, h[0]&0x80 != 0, n)
	}
	if n > 1<<20 {
		return 0, nil, fmt.Errorf("frame of %d bytes", n)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(c.br, payload); err != nil {
		return 0, nil, fmt.Errorf("torn frame payload (%d bytes): %v", n, err)
	}
	return op, payload, nil
}

// wsSeen is what a client's reader saw, frame by frame.
type wsSeen struct {
	echoes     chan string
	binary     atomic.Int64
	lastBinary atomic.Int64 // unix nanos
	closeCode  int          // -1: none
	closeAt    time.Time
	after      error // what followed the close frame (want io.EOF), or the error that ended reading
	done       chan struct{}
}

func (c *wsClient) readAll() *wsSeen {
	s := &wsSeen{echoes: make(chan string, 100), closeCode: -1, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			op, payload, err := c.readFrame()
			if err != nil {
				s.after = err
				return
			}
			switch op {
			case 1:
				s.echoes <- string(payload)
			case 2:
				s.binary.Add(1)
				s.lastBinary.Store(time.Now().UnixNano())
			case 8:
				s.closeAt = time.Now()
				if len(payload) >= 2 {
					s.closeCode = int(binary.BigEndian.Uint16(payload))
				} else {
					s.closeCode = 0
				}
				// Answer as a client does, then the server closes.
				c.send(0x8, payload)
				_, _, s.after = c.readFrame()
				return
			}
		}
	}()
	return s
}

// unmaskedFrames parses what a backend received after its handshake: whole
// masked frames only. It returns each frame's opcode and unmasked payload.
func unmaskedFrames(t *testing.T, raw []byte) (ops []byte, payloads [][]byte) {
	t.Helper()
	i := bytes.Index(raw, []byte("\r\n\r\n"))
	if i < 0 {
		t.Fatalf("the backend got no handshake: %q", raw)
	}
	data := raw[i+4:]
	ends, invalid := refFrameEnds(data)
	if invalid || len(data) > 0 && (len(ends) == 0 || ends[len(ends)-1] != len(data)) {
		t.Fatalf("the backend got a torn or invalid frame stream (%d bytes, frames end at %v)", len(data), ends)
	}
	start := 0
	for _, end := range ends {
		f := data[start:end]
		start = end
		if f[1]&0x80 == 0 {
			t.Fatalf("the backend got an unmasked frame % x", f[:2])
		}
		h := wsHeaderLen(f)
		key := f[h-4 : h]
		p := bytes.Clone(f[h:])
		for j := range p {
			p[j] ^= key[j%4]
		}
		ops = append(ops, f[0]&0x0f)
		payloads = append(payloads, p)
	}
	return ops, payloads
}

// A WebSocket open on a replica that is drained (as a deploy does) keeps
// working until the drain timeout, then ends with a close frame, 1001 Going
// Away, to the client and to the backend, at a frame boundary although the
// backend streams frames without pause, and then the connections close.
func TestProxyWebSocketDrainEndsWithCloseFrame(t *testing.T) {
	for _, path := range []clientPath{{name: "plain"}, {name: "tls", tls: true}} {
		t.Run(path.name, func(t *testing.T) {
			const drainTimeout = 2 * time.Second
			wb := startWSBackend(t)
			replacement := startBackend(t, "new")
			p := newTestProxy(t, Options{})
			addr := freeAddr(t)
			var tlsConf *TLS
			var clientConf *tls.Config
			if path.tls {
				cert, key, pool := selfSigned(t)
				tlsConf = &TLS{CertFile: cert, KeyFile: key}
				clientConf = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}}
			}
			cfg := func(backends ...Backend) Config {
				return Config{Listeners: []Listener{{Addr: addr, Mode: ModeHTTP, TLS: tlsConf, Routes: []Route{{
					Service: "s/web", DrainTimeout: Duration(drainTimeout), Backends: backends,
				}}}}}
			}
			mustApply(t, p, cfg(be("old", wb.addr(), true)))

			c := dialWS(t, addr, "/ws?stream=1", clientConf)
			seen := c.readAll()
			echo := func(msg string) (bool, error) {
				if err := c.send(0x1, []byte(msg)); err != nil {
					return false, err
				}
				select {
				case got := <-seen.echoes:
					if got != msg {
						return false, fmt.Errorf("echo %q, want %q", got, msg)
					}
					return true, nil
				case <-seen.done:
					return false, nil
				case <-time.After(5 * time.Second):
					return false, fmt.Errorf("no echo of %q within 5s", msg)
				}
			}
			if ok, err := echo("before"); !ok {
				t.Fatalf("echo before the drain: %v (%v)", err, seen.after)
			}

			// The deploy's steps: the new replica in, the old one out of
			// rotation, then drained.
			mustApply(t, p, cfg(be("old", wb.addr(), false), be("new", replacement.addr(), true)))
			start := time.Now()
			drained := make(chan error, 1)
			var drainEnd atomic.Int64
			go func() {
				err := p.Drain(context.Background(), "old")
				drainEnd.Store(time.Now().UnixNano())
				drained <- err
			}()
			var lastEcho time.Time
			for i := 0; ; i++ {
				ok, err := echo(fmt.Sprintf("during %d", i))
				if err != nil {
					t.Fatalf("during the drain, %s in: %v", time.Since(start), err)
				}
				if !ok {
					break // the connection ended
				}
				lastEcho = time.Now()
			}
			<-seen.done
			if err := <-drained; err != nil {
				t.Fatalf("Drain: %v", err)
			}
			if seen.closeCode != wsGoingAway {
				t.Fatalf("the client got close code %d, then %v; want a close frame with %d (the connection ended %s after the drain began)", seen.closeCode, seen.after, wsGoingAway, time.Since(start))
			}
			if seen.after != io.EOF {
				t.Fatalf("after the close frame: %v, want EOF", seen.after)
			}
			if at := seen.closeAt.Sub(start); at < drainTimeout || at > drainTimeout+goAwayGrace+time.Second {
				t.Fatalf("the close frame came %s after the drain began, want at the %s timeout", at, drainTimeout)
			}
			if d := lastEcho.Sub(start); d < drainTimeout-500*time.Millisecond {
				t.Fatalf("the last echo during the drain was %s in, want messages echoed until the %s timeout", d, drainTimeout)
			}
			last := time.Unix(0, seen.lastBinary.Load())
			if n := seen.binary.Load(); n < 10 || seen.closeAt.Sub(last) > 500*time.Millisecond {
				t.Fatalf("%d streamed frames, the last %s before the close frame: the backend was not streaming at the drain timeout", n, seen.closeAt.Sub(last))
			}
			// Both ends answered the close frames: the proxy did not wait
			// out its grace.
			if d := time.Unix(0, drainEnd.Load()).Sub(start); d > drainTimeout+goAwayGrace/2 {
				t.Fatalf("Drain took %s with a %s drain timeout", d, drainTimeout)
			}
			t.Logf("%d streamed frames and echoes until %s; close frame at %s, Drain returned at %s",
				seen.binary.Load(), lastEcho.Sub(start).Round(time.Millisecond), seen.closeAt.Sub(start).Round(time.Millisecond),
				time.Unix(0, drainEnd.Load()).Sub(start).Round(time.Millisecond))

			// The backend got whole masked frames, the last a close with 1001.
			select {
			case err := <-wb.ended:
				if err != io.EOF {
					t.Fatalf("the backend's connection ended with %v, want the close frame's EOF", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the backend's connection did not end")
			}
			ops, payloads := unmaskedFrames(t, wb.lastReceived())
			n := len(ops)
			if n == 0 || ops[n-1] != 0x8 || len(payloads[n-1]) < 2 || binary.BigEndian.Uint16(payloads[n-1]) != wsGoingAway {
				t.Fatalf("the backend's last frame: op %v, payload % x; want a close frame with %d", ops[max(n-1, 0):], payloads[max(n-1, 0):], wsGoingAway)
			}
		})
	}
}

// rawUpgradeBackend accepts one connection, answers its upgrade request
// with 101 for protocol, and hands the connection to the test.
func rawUpgradeBackend(t *testing.T, protocol string) (addr string, conns <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		t.Cleanup(func() { c.Close() })
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			c.Close()
			return
		}
		sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: %s\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			protocol, base64.StdEncoding.EncodeToString(sum[:]))
		ch <- c
	}()
	return ln.Addr().String(), ch
}

// tunnelGoing reports whether the backend's tunnels were told to end.
func tunnelGoing(p *Proxy, id string) bool {
	p.mu.Lock()
	b := p.backends[id]
	p.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	for t := range b.tunnels {
		if t.going.Load() {
			return true
		}
	}
	return false
}

// At the drain timeout, a frame the backend is still sending is let
// through whole before the close frame; one that does not end within
// goAwayGrace is cut, and Drain still returns.
func TestProxyWebSocketDrainWaitsForFrameInFlight(t *testing.T) {
	for _, finish := range []bool{true, false} {
		t.Run(fmt.Sprintf("finish=%v", finish), func(t *testing.T) {
			backendAddr, conns := rawUpgradeBackend(t, "websocket")
			p := newTestProxy(t, Options{})
			addr := freeAddr(t)
			route := Route{Service: "s/web", DrainTimeout: Duration(300 * time.Millisecond), Backends: []Backend{be("a", backendAddr, true)}}
			mustApply(t, p, httpConfig(addr, route))
			c := dialWS(t, addr, "/ws", nil)
			bc := <-conns
			frame := wsFrame(0x2, bytes.Repeat([]byte{'z'}, 1000), nil)
			if _, err := bc.Write(frame[:500]); err != nil {
				t.Fatal(err)
			}
			route.Backends = nil
			mustApply(t, p, httpConfig(addr, route))
			drained := make(chan error, 1)
			go func() { drained <- p.Drain(context.Background(), "a") }()
			waitFor(t, "the drain timeout", 5*time.Second, func() bool { return tunnelGoing(p, "a") })
			start := time.Now()
			if finish {
				if _, err := bc.Write(frame[500:]); err != nil {
					t.Fatal(err)
				}
				op, payload, err := c.readFrame()
				if err != nil || op != 0x2 || len(payload) != 1000 {
					t.Fatalf("the frame in flight: op %d, %d bytes, %v; want it whole", op, len(payload), err)
				}
				op, payload, err = c.readFrame()
				if err != nil || op != 0x8 || len(payload) != 2 || binary.BigEndian.Uint16(payload) != wsGoingAway {
					t.Fatalf("after the frame in flight: op %d, % x, %v; want a close frame with %d", op, payload, err, wsGoingAway)
				}
				// The backend got its close frame too, masked.
				bc.SetReadDeadline(time.Now().Add(5 * time.Second))
				got := make([]byte, 8)
				if _, err := io.ReadFull(bc, got); err != nil || got[0] != 0x88 || got[1] != 0x82 ||
					binary.BigEndian.Uint16([]byte{got[6] ^ got[2], got[7] ^ got[3]}) != wsGoingAway {
					t.Fatalf("the backend got % x, %v; want a masked close frame with %d", got, err, wsGoingAway)
				}
			} else {
				_, _, err := c.readFrame()
				if err == nil || err == io.EOF {
					t.Fatalf("a frame that never ended: %v, want it cut", err)
				}
				if d := time.Since(start); d < goAwayGrace/2 {
					t.Fatalf("the frame in flight was cut %s after the drain timeout, before the grace", d)
				}
			}
			select {
			case err := <-drained:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(goAwayGrace + 5*time.Second):
				t.Fatal("Drain did not return")
			}
		})
	}
}

// Other upgraded protocols cannot be ended cleanly: at the drain timeout
// (not before) their connections are closed, nothing added to them.
func TestProxyDrainClosesOtherUpgradesAtTimeout(t *testing.T) {
	const drainTimeout = 500 * time.Millisecond
	backendAddr, conns := rawUpgradeBackend(t, "echo")
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	route := Route{Service: "s/web", DrainTimeout: Duration(drainTimeout), Backends: []Backend{be("a", backendAddr, true)}}
	mustApply(t, p, httpConfig(addr, route))
	c := dialRaw(t, addr)
	c.send("GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	bc := <-conns
	go io.Copy(bc, bc)
	route.Backends = nil
	mustApply(t, p, httpConfig(addr, route))
	start := time.Now()
	drained := make(chan error, 1)
	go func() { drained <- p.Drain(context.Background(), "a") }()
	// Bytes go both ways until the timeout.
	for time.Since(start) < drainTimeout/2 {
		c.send("ping")
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c.br, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("during the drain: %q %v", buf, err)
		}
	}
	rest, err := io.ReadAll(c.br)
	if len(rest) != 0 || err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("at the drain timeout the client got %q, %v; want the connection closed, nothing added", rest, err)
	}
	if d := time.Since(start); d < drainTimeout {
		t.Fatalf("closed %s into a %s drain", d, drainTimeout)
	}
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
}

// A proxy that stops (shutdown, or replaced by a new one) ends its
// WebSockets with a close frame, 1001 Going Away, not a reset.
func TestProxyCloseEndsWebSocketWithCloseFrame(t *testing.T) {
	wb := startWSBackend(t)
	p := New(Options{})
	defer p.Close()
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", wb.addr(), true)}}))
	c := dialWS(t, addr, "/ws?stream=1", nil)
	seen := c.readAll()
	if err := c.send(0x1, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-seen.echoes:
		if got != "hi" {
			t.Fatalf("echo %q", got)
		}
	case <-seen.done:
		t.Fatalf("ended before the echo: %v", seen.after)
	}
	start := time.Now()
	p.Close()
	<-seen.done
	if seen.closeCode != wsGoingAway || seen.after != io.EOF {
		t.Fatalf("on proxy close the client got close code %d, then %v; want %d, then EOF", seen.closeCode, seen.after, wsGoingAway)
	}
	if d := time.Since(start); d > closeTimeout {
		t.Fatalf("Close took %s", d)
	}
}

// An upgrade the backend refuses gets the backend's answer, and the
// request it got carries the forwarded headers and the protocol switch.
func TestProxyRefusedUpgradePassesAnswer(t *testing.T) {
	b := startBackend(t, "a")
	addr, _ := proxyTo(t, b.addr())
	c := dialRaw(t, addr)
	c.send("GET /echo-headers HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade, X-Hop\r\nX-Hop: 1\r\nUpgrade: websocket\r\n\r\n")
	code, body, h := c.read("GET")
	if code != 200 || h.Get("Upgrade") != "" {
		t.Fatalf("%d %v", code, h)
	}
	for _, want := range []string{"X-Forwarded-For=127.0.0.1", "X-Forwarded-Proto=http", "X-Forwarded-Host=app.test", "Connection=Upgrade", "Host=app.test"} {
		if !strings.Contains(body, want+"\n") {
			t.Fatalf("the backend got:\n%s\nwant %s", body, want)
		}
	}
}
