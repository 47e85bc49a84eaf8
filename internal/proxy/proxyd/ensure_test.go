package proxyd

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
)

// A proxy process killed with -9 and started again by Ensure serves the
// config it last applied at once, before anyone pushes it again.
func TestEnsureRestartServesSavedConfig(t *testing.T) {
	o := ensureOptions(t, t.TempDir())
	p := startProxy(t, o)
	ctx := ctxT(t, 30*time.Second)

	listen := freeAddr(t)
	cfg := httpConfig(listen, "shop/web", proxy.Backend{ID: "web-1", Addr: backend(t, "web-1", nil), Ready: true})
	if err := p.client.Apply(ctx, cfg); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := get(t, listen); got != "hello from web-1" {
		t.Fatalf("through the proxy: %q", got)
	}
	fi, err := os.Stat(o.State)
	if err != nil {
		t.Fatalf("state file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
	if fi, err := os.Stat(o.Socket); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket: %v, mode %v, want 0600", err, fi.Mode().Perm())
	}

	old := p.pid(t)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, old)
	// The leader thread turns zombie before the last threads drop the
	// sockets; the port is free a moment later.
	deadline := time.Now().Add(5 * time.Second)
	for !refused(listen) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections after the proxy was killed", listen)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(o.Socket); err != nil {
		t.Fatalf("a killed proxy should leave its socket file (stale): %v", err)
	}

	c, err := Ensure(ctx, o)
	if err != nil {
		t.Fatalf("Ensure after kill -9: %v", err)
	}
	h, err := c.Health(ctx)
	if err != nil || h.PID == old {
		t.Fatalf("health after restart: %+v, %v (old pid %d)", h, err, old)
	}
	if got := get(t, listen); got != "hello from web-1" {
		t.Fatalf("through the restarted proxy: %q", got)
	}
	got, err := c.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, cfg) {
		t.Errorf("restarted proxy config:\n got %+v\nwant %+v", got, cfg)
	}
}

// Ensure returns the proxy already running instead of starting another.
func TestEnsureFindsRunningProxy(t *testing.T) {
	o := ensureOptions(t, t.TempDir())
	p := startProxy(t, o)
	first := p.pid(t)
	for i := 0; i < 3; i++ {
		c, err := Ensure(ctxT(t, 10*time.Second), o)
		if err != nil {
			t.Fatalf("Ensure #%d: %v", i+2, err)
		}
		h, err := c.Health(ctxT(t, 5*time.Second))
		if err != nil || h.PID != first {
			t.Fatalf("Ensure #%d reached pid %d (%v), want the running %d", i+2, h.PID, err, first)
		}
	}
	log, _ := os.ReadFile(o.LogFile)
	if n := strings.Count(string(log), "berth proxy serving"); n != 1 {
		t.Errorf("%d proxies started, want 1; log:\n%s", n, log)
	}
}

// A socket file left by a dead proxy does not stop a new one.
func TestEnsureReplacesStaleSocket(t *testing.T) {
	o := ensureOptions(t, t.TempDir())
	if err := os.MkdirAll(filepath.Dir(o.Socket), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: o.Socket, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close() // the file stays; nothing answers: as after a kill -9
	if err := NewClient(o.Socket).Ping(ctxT(t, 5*time.Second)); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("ping on a stale socket: %v, want ErrNotRunning", err)
	}
	p := startProxy(t, o)
	if err := p.client.Ping(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}

// A proxy that fails at start makes Ensure fail fast with its own words.
func TestEnsureReportsEarlyExit(t *testing.T) {
	o := ensureOptions(t, t.TempDir())
	o.Metrics = "not-an-address"
	start := time.Now()
	_, err := Ensure(ctxT(t, 10*time.Second), o)
	if err == nil {
		stopProxy(t, o.Socket)
		t.Fatal("Ensure succeeded with a bad --metrics address")
	}
	t.Logf("Ensure: %v", err)
	if !strings.Contains(err.Error(), "--metrics") || !strings.Contains(err.Error(), "not-an-address") {
		t.Errorf("error does not carry the proxy's log: %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Ensure took %v to notice the exit", d)
	}
}

// Stop closes the proxy's ports, ends the process and removes the socket.
func TestStop(t *testing.T) {
	o := ensureOptions(t, t.TempDir())
	p := startProxy(t, o)
	listen := freeAddr(t)
	cfg := httpConfig(listen, "shop/web", proxy.Backend{ID: "web-1", Addr: backend(t, "web-1", nil), Ready: true})
	if err := p.client.Apply(ctxT(t, 10*time.Second), cfg); err != nil {
		t.Fatal(err)
	}
	pid := p.pid(t)
	if err := Stop(ctxT(t, 15*time.Second), o.Socket); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if alive(pid) {
		t.Errorf("proxy pid %d still alive after Stop", pid)
	}
	if !refused(listen) {
		t.Errorf("%s still accepts connections after Stop", listen)
	}
	if _, err := os.Stat(o.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after Stop: %v, want it removed", err)
	}
	if err := Stop(ctxT(t, 5*time.Second), o.Socket); err != nil {
		t.Errorf("Stop with no proxy running: %v", err)
	}
}

func TestEnsureValidates(t *testing.T) {
	if _, err := Ensure(context.Background(), EnsureOptions{Socket: "/tmp/x.sock"}); err == nil || !strings.Contains(err.Error(), "state") {
		t.Errorf("Ensure without State: %v", err)
	}
}
