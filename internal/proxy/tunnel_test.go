package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

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
