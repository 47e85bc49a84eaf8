//go:build linux

package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// waitCounts polls the load until cond holds (deadline 10 s).
func waitCounts(t *testing.T, l *steadyLoad, cond func(loadCounts) bool) loadCounts {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := l.snapshot()
		if cond(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("load counters never matched: %+v", c)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSteadyLoadCountsVersionsAndFailures(t *testing.T) {
	var fail atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Write([]byte(`{"version":"1.0.0","host":"a"}`))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	l := startLoad(context.Background(), addr, "/version", 4, 400)
	before := waitCounts(t, l, func(c loadCounts) bool { return c.OK >= 20 })
	fail.Store(true)
	waitCounts(t, l, func(c loadCounts) bool { return c.Non2xx >= 5 })
	fail.Store(false)
	final := l.stop()
	d := final.sub(before)
	if d.Non2xx < 5 || d.ConnErrors != 0 || d.failed() != d.Non2xx {
		t.Errorf("delta %+v: want >= 5 non-2xx and no connection errors", d)
	}
	if final.Versions["1.0.0"] != final.OK {
		t.Errorf("versions %v, want all %d OK responses as 1.0.0", final.Versions, final.OK)
	}
	if len(d.Errors) == 0 || !strings.Contains(d.Errors[0], "HTTP 502") {
		t.Errorf("errors %q, want HTTP 502", d.Errors)
	}
}

func TestSteadyLoadPacing(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	l := startLoad(context.Background(), strings.TrimPrefix(srv.URL, "http://"), "/", 2, 100)
	time.Sleep(time.Second) // measuring a rate over a wall-clock second
	c := l.stop()
	if c.OK < 50 || c.OK > 150 {
		t.Errorf("%d requests in 1 s at 100/s", c.OK)
	}
}

func TestSteadyLoadCountsResets(t *testing.T) {
	// A server that accepts and closes at once: every request fails as a
	// connection error, none is retried or lost.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	l := startLoad(context.Background(), ln.Addr().String(), "/", 2, 200)
	c := waitCounts(t, l, func(c loadCounts) bool { return c.ConnErrors >= 10 })
	final := l.stop()
	if c.OK != 0 || final.OK != 0 || len(final.Errors) == 0 || len(final.Errors) > maxLoadErrors {
		t.Errorf("counts %+v", final)
	}
}
