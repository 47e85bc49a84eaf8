package proxy

import (
	"testing"
	"time"
)

// A request that got no answer on a reused connection is tried twice more
// (the same backend allowed); after that, or on a fresh connection, the
// backend is failed and skipped, and the request is not held waiting.
func TestAttemptsNoAnswer(t *testing.T) {
	b := newBackend("web-1")
	var a attempts
	for i := range 2 {
		a.noAnswer(b, 3, true)
		if a.tried != 0 || a.sentFailed || b.failed(time.Now().UnixNano()) {
			t.Fatalf("stale retry %d: %+v, backend failed %v", i+1, a, b.failed(time.Now().UnixNano()))
		}
	}
	a.noAnswer(b, 3, true)
	if a.tried != bit(3) || !a.sentFailed || !b.failed(time.Now().UnixNano()) {
		t.Fatalf("third failure: %+v", a)
	}

	var fresh attempts
	fresh.noAnswer(newBackend("web-2"), 1, false)
	if fresh.tried != bit(1) || !fresh.sentFailed || fresh.staleRetries != 0 {
		t.Fatalf("fresh connection: %+v", fresh)
	}
}

// A failed connect sends nothing: the backend is failed and skipped, but
// the request may still wait for another one.
func TestAttemptsNotSent(t *testing.T) {
	b := newBackend("web-1")
	var a attempts
	a.notSent(b, 0)
	if a.tried != bit(0) || a.sentFailed || !b.failed(time.Now().UnixNano()) {
		t.Fatalf("%+v", a)
	}
}
