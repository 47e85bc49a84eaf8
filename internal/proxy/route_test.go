package proxy

import (
	"testing"
	"time"
)

func testRoute(leastConn bool, ids ...string) *route {
	r := &route{leastConn: leastConn}
	for _, id := range ids {
		b := newBackend(id)
		b.accepting.Store(true)
		r.ready = append(r.ready, b)
		r.all = append(r.all, b)
	}
	return r
}

func TestPickRoundRobin(t *testing.T) {
	r := testRoute(false, "a", "b", "c")
	seen := map[string]int{}
	for i := 0; i < 300; i++ {
		b, _ := r.pick(0)
		seen[b.id]++
	}
	if seen["a"] != 100 || seen["b"] != 100 || seen["c"] != 100 {
		t.Fatalf("spread %v", seen)
	}
}

func TestPickSkipsTriedAndFailed(t *testing.T) {
	r := testRoute(false, "a", "b", "c")
	r.ready[1].markFailed()
	for i := 0; i < 30; i++ {
		b, idx := r.pick(bit(0))
		if b.id != "c" || idx != 2 {
			t.Fatalf("pick with a tried and b failed: %s", b.id)
		}
	}
	// Only failed ones left: use them rather than nothing.
	if b, _ := r.pick(bit(0) | bit(2)); b == nil || b.id != "b" {
		t.Fatalf("fallback to failed backend: %v", b)
	}
	if b, _ := r.pick(bit(0) | bit(1) | bit(2)); b != nil {
		t.Fatalf("all tried: got %s", b.id)
	}
	r.ready[1].failedUntil.Store(time.Now().Add(-time.Millisecond).UnixNano())
	seen := map[string]bool{}
	for i := 0; i < 6; i++ {
		b, _ := r.pick(0)
		seen[b.id] = true
	}
	if !seen["b"] {
		t.Fatal("b not used again after its failure pause")
	}
	if b, _ := (&route{}).pick(0); b != nil {
		t.Fatal("empty route picked a backend")
	}
}

func TestPickLeastConn(t *testing.T) {
	r := testRoute(true, "a", "b", "c")
	r.ready[0].inflight.Store(3)
	r.ready[1].inflight.Store(1)
	r.ready[2].inflight.Store(2)
	for i := 0; i < 10; i++ {
		if b, _ := r.pick(0); b.id != "b" {
			t.Fatalf("least_conn picked %s", b.id)
		}
	}
	// Ties are spread.
	r.ready[0].inflight.Store(0)
	r.ready[1].inflight.Store(0)
	r.ready[2].inflight.Store(0)
	seen := map[string]bool{}
	for i := 0; i < 9; i++ {
		b, _ := r.pick(0)
		seen[b.id] = true
	}
	if len(seen) != 3 {
		t.Fatalf("ties all went to %v", seen)
	}
}

func TestAcquireRefusesDrainingBackend(t *testing.T) {
	b := newBackend("a")
	b.accepting.Store(true)
	if !b.acquire() || b.inflight.Load() != 1 {
		t.Fatal("acquire on an accepting backend")
	}
	b.release()
	b.accepting.Store(false)
	if b.acquire() || b.inflight.Load() != 0 {
		t.Fatal("acquire on a draining backend")
	}
}
