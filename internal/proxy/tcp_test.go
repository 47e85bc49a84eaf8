package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// echoServer echoes every connection until the client half-closes, then
// closes; it counts open connections.
type echoServer struct {
	ln   net.Listener
	open atomic.Int64
}

func startEcho(t testing.TB) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.open.Add(1)
			go func() {
				defer e.open.Add(-1)
				io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	return e
}

func (e *echoServer) addr() string { return e.ln.Addr().String() }

func tcpConfig(addr string, r Route) Config {
	return Config{Listeners: []Listener{{Addr: addr, Mode: ModeTCP, Routes: []Route{r}}}}
}

func dialEcho(t *testing.T, addr, msg string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != msg+"\n" {
		t.Fatalf("echo: %q %v", line, err)
	}
	return c
}

func TestTCPEchoAndHalfClose(t *testing.T) {
	e := startEcho(t)
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, tcpConfig(addr, Route{Service: "s/db", Backends: []Backend{be("a", e.addr(), true)}}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "hello")
	// Half-close: the answer still comes back, then EOF.
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hello" {
		t.Fatalf("after half-close: %q %v", got, err)
	}
	waitFor(t, "connection released", 5*time.Second, func() bool { return p.Status()[0].Backends[0].InFlight == 0 })
	if st := p.Status()[0].Backends[0]; st.Requests != 1 {
		t.Fatalf("status %+v", st)
	}
}

func TestTCPRetriesDialAndSkipsNotReady(t *testing.T) {
	e := startEcho(t)
	notReady := startEcho(t)
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, tcpConfig(addr, Route{Service: "s/db", Backends: []Backend{
		be("gone", freeAddr(t), true), be("nr", notReady.addr(), false), be("a", e.addr(), true)}}))
	for i := 0; i < 6; i++ {
		dialEcho(t, addr, "x").Close()
	}
	if st := p.Status()[0].Backends; st[0].Failures == 0 || st[1].Requests != 0 || st[2].Requests != 6 {
		t.Fatalf("status %+v", st)
	}
}

func TestTCPDrainWaitsForConnection(t *testing.T) {
	e := startEcho(t)
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, tcpConfig(addr, Route{Service: "s/db", Backends: []Backend{be("a", e.addr(), true)}}))
	c := dialEcho(t, addr, "one")
	mustApply(t, p, tcpConfig(addr, Route{Service: "s/db", Backends: []Backend{be("a", e.addr(), false)}}))
	drained := make(chan error, 1)
	go func() { drained <- p.Drain(context.Background(), "a") }()
	// The open connection keeps working while Drain waits.
	io.WriteString(c, "two\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "two\n" {
		t.Fatalf("connection during drain: %q %v", line, err)
	}
	select {
	case err := <-drained:
		t.Fatalf("Drain returned with a connection open: %v", err)
	default:
	}
	c.Close()
	select {
	case err := <-drained:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Drain did not return after the connection closed")
	}
}

func TestTCPDrainTimeoutClosesConnection(t *testing.T) {
	e := startEcho(t)
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	r := Route{Service: "s/db", DrainTimeout: Duration(100 * time.Millisecond), Backends: []Backend{be("a", e.addr(), true)}}
	mustApply(t, p, tcpConfig(addr, r))
	c := dialEcho(t, addr, "one")
	defer c.Close()
	r.Backends = nil
	mustApply(t, p, tcpConfig(addr, r))
	if err := p.Drain(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(c); err != nil {
		t.Logf("client read after cut: %v", err) // EOF or reset are both fine
	}
	waitFor(t, "backend side closed", 5*time.Second, func() bool { return e.open.Load() == 0 })
}
