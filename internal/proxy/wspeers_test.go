package proxy

// Test-side WebSocket peers for tunnel_test.go: a real server
// (golang.org/x/net/websocket) that records what it received, a strict
// minimal client, and a raw backend the test drives byte by byte.

import (
	"bufio"
	"bytes"
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
	"sync"
	"sync/atomic"
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
