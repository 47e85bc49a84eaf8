package proxyd

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

// Watch returns as soon as the proxy process dies, and with ctx's error
// when ctx ends first.
func TestWatchSeesTheProxyDie(t *testing.T) {
	o := ensureOptions(t, t.TempDir())
	p := startProxy(t, o)

	ctx, cancel := context.WithCancel(ctxT(t, 30*time.Second))
	done := make(chan error, 1)
	go func() { done <- p.client.Watch(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("Watch returned while the proxy runs: %v", err)
	case <-time.After(200 * time.Millisecond): // nothing should happen meanwhile
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch after cancel: %v, want context.Canceled", err)
	}

	go func() { done <- p.client.Watch(ctxT(t, 30*time.Second)) }()
	pid := p.pid(t)
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRunning) {
			t.Fatalf("Watch after kill -9: %v, want ErrNotRunning", err)
		}
		t.Logf("Watch noticed the kill after %s", time.Since(killed).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return within 5s of the proxy's kill -9")
	}
}
