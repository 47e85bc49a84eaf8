package proxyd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
	"github.com/berth-dev/berth/test/loadgen"
)

// TestListenerFilesRoundTrip: GET /listeners hands over a working
// duplicate of every listening socket, named by its configured address.
func TestListenerFilesRoundTrip(t *testing.T) {
	o := ensureOptions(t, t.TempDir())
	p := startProxy(t, o)
	a1, a2 := freeAddr(t), freeAddr(t)
	cfg := httpConfig(a1, "web", proxy.Backend{ID: "b1", Addr: backend(t, "b1", nil), Ready: true})
	cfg.Listeners = append(cfg.Listeners, httpConfig(a2, "web2", proxy.Backend{ID: "b2", Addr: backend(t, "b2", nil), Ready: true}).Listeners...)
	if err := p.client.Apply(ctxT(t, 5*time.Second), cfg); err != nil {
		t.Fatal(err)
	}
	addrs, files, err := p.client.ListenerFiles(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	if want := strings.Join(sortedStrings(a1, a2), ","); strings.Join(addrs, ",") != want || len(files) != 2 {
		t.Fatalf("handed over %v (%d files), want %s", addrs, len(files), want)
	}
	for i, f := range files {
		ln, err := net.FileListener(f)
		if err != nil {
			t.Fatalf("%s: %v", addrs[i], err)
		}
		if ln.Addr().String() != addrs[i] {
			t.Errorf("descriptor for %s is bound to %s", addrs[i], ln.Addr())
		}
		ln.Close()
	}
}

func sortedStrings(a, b string) []string {
	if a > b {
		return []string{b, a}
	}
	return []string{a, b}
}

// TestListenerFilesOldProxy: a proxy without GET /listeners (an older
// berth) is a clear error, not a hang or garbage.
func TestListenerFilesOldProxy(t *testing.T) {
	sock := t.TempDir() + "/p.sock"
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	_, _, err = NewClient(sock).ListenerFiles(ctxT(t, 5*time.Second))
	if err == nil || !strings.Contains(err.Error(), "does not hand over") || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v, want one saying the proxy does not hand over its listeners (404)", err)
	}
}

// TestKilledProxyRefusesNobody: with the daemon's Holder keeping the
// listening sockets, a kill -9 of the proxy closes none of them: a client
// that connects and sends its request while no proxy runs is not refused,
// and the restarted proxy answers it. Without a holder the same connect
// is refused.
func TestKilledProxyRefusesNobody(t *testing.T) {
	for _, held := range []bool{true, false} {
		t.Run(fmt.Sprintf("held=%v", held), func(t *testing.T) {
			o := ensureOptions(t, t.TempDir())
			if held {
				o.Holder = &Holder{}
				t.Cleanup(o.Holder.Close)
			}
			p := startProxy(t, o)
			addr := freeAddr(t)
			var router interface {
				Apply(context.Context, proxy.Config) error
			} = p.client
			if held {
				router = p.client.Hold(o.Holder)
			}
			if err := router.Apply(ctxT(t, 5*time.Second), httpConfig(addr, "web", proxy.Backend{ID: "b1", Addr: backend(t, "b1", nil), Ready: true})); err != nil {
				t.Fatal(err)
			}
			if held && strings.Join(o.Holder.Addrs(), ",") != addr {
				t.Fatalf("holder holds %v, want [%s]", o.Holder.Addrs(), addr)
			}
			pid := p.pid(t)
			syscall.Kill(pid, syscall.SIGKILL)
			waitGone(t, pid)
			waitNotRunning(t, p.client)

			if !held {
				// The kernel closes the last sockets as the killed
				// process's threads finish exiting, a moment after.
				deadline := time.Now().Add(5 * time.Second)
				for !refused(addr) {
					if time.Now().After(deadline) {
						t.Fatalf("without a holder the port %s still accepts after the kill", addr)
					}
					time.Sleep(10 * time.Millisecond)
				}
				return
			}
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				t.Fatalf("connect while no proxy runs: %v", err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			if _, err := Ensure(ctxT(t, 10*time.Second), o); err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("the queued request: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(b) != "hello from b1" {
				t.Fatalf("the queued request: %s %q", resp.Status, b)
			}
		})
	}
}

// TestUpgradeUnderLoad: Upgrade replaces the proxy process under steady
// keep-alive load (a client that never re-sends) without a single failed
// request: the new process serves the old one's sockets, the old one
// answers what it had with "Connection: close" and exits.
func TestUpgradeUnderLoad(t *testing.T) {
	o := ensureOptions(t, t.TempDir())
	o.Holder = &Holder{}
	t.Cleanup(o.Holder.Close)
	p := startProxy(t, o)
	addr := freeAddr(t)
	if err := p.client.Hold(o.Holder).Apply(ctxT(t, 5*time.Second), httpConfig(addr, "web", proxy.Backend{ID: "b1", Addr: backend(t, "b1", nil), Ready: true})); err != nil {
		t.Fatal(err)
	}
	oldPID := p.pid(t)
	g, err := loadgen.Start(context.Background(), loadgen.Options{URL: "http://" + addr + "/", Concurrency: 8, Interval: 2 * time.Millisecond, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	waitLoad(t, g, 200)
	c, err := Upgrade(ctxT(t, 20*time.Second), o)
	if err != nil {
		t.Fatalf("Upgrade: %v", err)
	}
	if alive(oldPID) {
		t.Fatalf("the old proxy %d still runs", oldPID)
	}
	h, err := c.Health(ctxT(t, 5*time.Second))
	if err != nil || h.PID == oldPID {
		t.Fatalf("after Upgrade: pid %d (old %d), %v", h.PID, oldPID, err)
	}
	waitLoad(t, g, g.Snapshot().OK+200) // served by the new process
	s := g.Stop()
	t.Logf("load across the upgrade: %s", s)
	if s.Failed() != 0 {
		t.Errorf("%d requests failed across the upgrade: %s", s.Failed(), s)
	}
	if got := strings.Join(o.Holder.Addrs(), ","); got != addr {
		t.Errorf("holder holds %v after the upgrade, want [%s]", got, addr)
	}
}

// TestUpgradeNeedsHandover: no holder, no upgrade (the daemon falls back
// to stop and start).
func TestUpgradeNeedsHandover(t *testing.T) {
	o := ensureOptions(t, t.TempDir())
	if _, err := Upgrade(ctxT(t, 5*time.Second), o); err != ErrNoHandover {
		t.Fatalf("err = %v, want ErrNoHandover", err)
	}
}

func waitLoad(t *testing.T, g *loadgen.Generator, ok int64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for g.Snapshot().OK < ok {
		if time.Now().After(deadline) {
			t.Fatalf("load: %s, want %d answered", g.Snapshot(), ok)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHolderKeepsSocketsOfAGoneProxy: a push that finds the proxy dead
// (before the supervisor restarted it) must not drop the held sockets —
// they are what keeps the port open — while a proxy that answers but does
// not hand over makes the holder let go of everything.
func TestHolderKeepsSocketsOfAGoneProxy(t *testing.T) {
	o := ensureOptions(t, t.TempDir())
	o.Holder = &Holder{}
	t.Cleanup(o.Holder.Close)
	p := startProxy(t, o)
	addr := freeAddr(t)
	held := p.client.Hold(o.Holder)
	cfg := httpConfig(addr, "web", proxy.Backend{ID: "b1", Addr: backend(t, "b1", nil), Ready: true})
	if err := held.Apply(ctxT(t, 5*time.Second), cfg); err != nil {
		t.Fatal(err)
	}
	pid := p.pid(t)
	syscall.Kill(pid, syscall.SIGKILL)
	waitGone(t, pid)
	if err := held.Apply(ctxT(t, 5*time.Second), cfg); err == nil {
		t.Fatal("Apply to a dead proxy succeeded")
	}
	if err := o.Holder.Refresh(ctxT(t, 5*time.Second), p.client); err == nil {
		t.Fatal("Refresh from a dead proxy succeeded")
	}
	if got := o.Holder.Addrs(); len(got) != 1 || got[0] != addr {
		t.Fatalf("holder holds %v after the proxy died, want [%s]", got, addr)
	}
	if refused(addr) {
		t.Fatal("the port refuses connections while the holder holds it")
	}

	// A live proxy that does not hand over (an older berth).
	sock := t.TempDir() + "/old.sock"
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			io.WriteString(w, `{"pid": 1}`)
			return
		}
		http.NotFound(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	if err := o.Holder.Refresh(ctxT(t, 5*time.Second), NewClient(sock)); err == nil {
		t.Fatal("Refresh from a proxy without GET /listeners succeeded")
	}
	if got := o.Holder.Addrs(); len(got) != 0 {
		t.Fatalf("holder holds %v after a proxy that answers did not hand over, want nothing", got)
	}
}

// waitNotRunning polls until nothing answers on c's socket: the threads of
// a killed process close its sockets a moment after it is a zombie.
func waitNotRunning(t *testing.T, c *Client) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := c.Ping(ctxT(t, time.Second))
		if errors.Is(err, ErrNotRunning) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed proxy's socket still answers: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
