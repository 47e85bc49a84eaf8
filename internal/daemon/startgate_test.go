package daemon

import (
	"sync"
	"testing"
	"time"
)

func TestStartGateWaitsForStartsInFlight(t *testing.T) {
	g := newStartGate()
	never := make(chan struct{})
	if !g.waitIdle(never, never) {
		t.Fatal("an idle gate held back")
	}
	g.begin("a")
	g.begin("b")
	g.end("unknown") // a restart's Start: nothing in flight under that id
	done := make(chan bool, 1)
	go func() { done <- g.waitIdle(never, never) }()
	g.end("a")
	select {
	case <-done:
		t.Fatal("waitIdle returned with b still starting")
	case <-time.After(20 * time.Millisecond): // proving a negative: it must still block
	}
	g.end("b")
	g.end("b") // a second undo
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("waitIdle = false once idle")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waitIdle still blocked with nothing in flight")
	}
}

func TestStartGateStopWakeAndExpiry(t *testing.T) {
	g := newStartGate()
	g.begin("a")
	stop, wake := make(chan struct{}), make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	var got bool
	go func() { defer wg.Done(); got = g.waitIdle(stop, wake) }()
	wake <- struct{}{}
	wg.Wait()
	if got {
		t.Fatal("waitIdle = true after a wake-up with a start in flight")
	}
	wg.Add(1)
	go func() { defer wg.Done(); got = g.waitIdle(stop, nil) }()
	close(stop)
	wg.Wait()
	if got {
		t.Fatal("waitIdle = true after stop with a start in flight")
	}
	// A start nobody ended stops counting after startGateExpiry.
	now := time.Now()
	g.mu.Lock()
	g.now = func() time.Time { return now.Add(startGateExpiry) }
	g.mu.Unlock()
	if !g.waitIdle(nil, nil) {
		t.Fatal("an expired start still holds the gate")
	}
}
