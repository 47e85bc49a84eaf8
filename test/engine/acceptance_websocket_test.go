package engine

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestDeployWebSocketSurvivesDrain (issue 13): a WebSocket open on the
// replica a deploy replaces keeps echoing while that replica is drained,
// and ends only at the drain timeout, with a close frame (1001 Going Away)
// and then a clean end of the connection, not a reset. The deploy waits
// for it; a new WebSocket gets the new version.
func TestDeployWebSocketSurvivesDrain(t *testing.T) {
	const drain = 6 * time.Second
	d := newDeployEnv(t, "dep-ws", appStack{Replicas: 1, Proxy: fmt.Sprintf("{drain_timeout: %s}", drain)})
	d.deploy("--set", "VERSION=1.0.0")
	d.waitServing(1, "1.0.0")

	ws := dialTestWS(t, fmt.Sprintf("127.0.0.1:%d", d.port))
	if op, p, err := ws.read(); err != nil || op != 1 || string(p) != "goapp 1.0.0" {
		t.Fatalf("the WebSocket's greeting: op %d %q %v; want goapp 1.0.0", op, p, err)
	}
	if err := ws.echo("before"); err != nil {
		t.Fatal(err)
	}

	type result struct {
		out  string
		err  error
		took time.Duration
		end  time.Time
	}
	deployed := make(chan result, 1)
	start := time.Now()
	go func() {
		out, took, err := d.tryTimed("deploy", "-f", d.file, "--set", "VERSION=2.0.0")
		deployed <- result{out, err, took, time.Now()}
	}()
	// Echo until the proxy ends the connection.
	echoes, lastEcho := 0, time.Time{}
	var code int
	var closeAt time.Time
	for i := 0; code == 0; i++ {
		msg := fmt.Sprintf("during %d", i)
		if err := ws.send(1, []byte(msg)); err != nil {
			t.Fatalf("sending %s after %s of the deploy: %v", msg, time.Since(start), err)
		}
		op, p, err := ws.read()
		switch {
		case err != nil:
			t.Fatalf("%s into the deploy, after %d echoes: %v; want a close frame at the drain timeout", time.Since(start), echoes, err)
		case op == 8:
			closeAt = time.Now()
			code = -1
			if len(p) >= 2 {
				code = int(binary.BigEndian.Uint16(p))
			}
			ws.send(8, p) // a client answers the close
		case op != 1 || string(p) != msg:
			t.Fatalf("echo of %q: op %d %q", msg, op, p)
		default:
			echoes++
			lastEcho = time.Now()
			time.Sleep(20 * time.Millisecond) // the pace of the messages, leaving CPU to the deploy
		}
	}
	if code != 1001 {
		t.Fatalf("close frame with status %d, want 1001 (Going Away)", code)
	}
	if op, p, err := ws.read(); err != io.EOF {
		t.Fatalf("after the close frame: op %d %q %v; want the connection closed cleanly (EOF)", op, p, err)
	}
	r := <-deployed
	if r.err != nil {
		t.Fatalf("berth deploy: %v\n%s", r.err, r.out)
	}
	t.Logf("berth deploy took %s; %d echoes, the last %s in; close frame %s in\n%s", r.took.Round(time.Millisecond), echoes,
		lastEcho.Sub(start).Round(time.Millisecond), closeAt.Sub(start).Round(time.Millisecond), r.out)
	// The drain began after the new replica was healthy; it ran the whole
	// timeout (the WebSocket held it), and messages went through all along.
	if in := closeAt.Sub(start); in < drain {
		t.Fatalf("the close frame came %s into the deploy, before the %s drain timeout could pass", in, drain)
	}
	if gap := closeAt.Sub(lastEcho); gap > 2*time.Second {
		t.Fatalf("no echo in the %s before the close frame", gap)
	}
	if r.end.Before(closeAt) {
		t.Fatalf("the deploy returned %s before the drained replica's WebSocket ended", closeAt.Sub(r.end))
	}

	ws2 := dialTestWS(t, fmt.Sprintf("127.0.0.1:%d", d.port))
	if op, p, err := ws2.read(); err != nil || op != 1 || string(p) != "goapp 2.0.0" {
		t.Fatalf("a new WebSocket's greeting: op %d %q %v; want goapp 2.0.0", op, p, err)
	}
	ws2.c.Close()
	d.finish()
}

// testWS is a minimal WebSocket client that reads frames strictly: a torn
// frame is an error, and io.EOF only comes between frames.
type testWS struct {
	c  net.Conn
	br *bufio.Reader
}

func dialTestWS(t *testing.T, addr string) *testWS {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(3 * time.Minute))
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", addr, key)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("WebSocket handshake: %s %v", resp.Status, resp.Header)
	}
	return &testWS{c: c, br: br}
}

// send writes one masked frame.
func (w *testWS) send(op byte, payload []byte) error {
	if len(payload) > 125 {
		return errors.New("test frames are short")
	}
	var key [4]byte
	rand.Read(key[:])
	f := append([]byte{0x80 | op, 0x80 | byte(len(payload))}, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	_, err := w.c.Write(f)
	return err
}

func (w *testWS) read() (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(w.br, h[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return 0, nil, errors.New("torn frame header")
		}
		return 0, nil, err
	}
	if h[0]&0x70 != 0 || h[1]&0x80 != 0 {
		return 0, nil, fmt.Errorf("bad frame header % x (reserved bits, or masked by the server)", h)
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(w.br, b[:]); err != nil {
			return 0, nil, fmt.Errorf("torn frame: %v", err)
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(w.br, b[:]); err != nil {
			return 0, nil, fmt.Errorf("torn frame: %v", err)
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<20 {
		return 0, nil, fmt.Errorf("frame of %d bytes", n)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(w.br, payload); err != nil {
		return 0, nil, fmt.Errorf("torn frame: %v", err)
	}
	return h[0] & 0x0f, payload, nil
}

// echo sends msg and waits for it back.
func (w *testWS) echo(msg string) error {
	if err := w.send(1, []byte(msg)); err != nil {
		return err
	}
	op, p, err := w.read()
	if err != nil || op != 1 || string(p) != msg {
		return fmt.Errorf("echo of %q: op %d %q %v", msg, op, p, err)
	}
	return nil
}
