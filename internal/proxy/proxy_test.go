package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testBackend is a real HTTP server on 127.0.0.1 that answers its name.
// /slow?d=1s answers after d; /stuck blocks until the client goes away;
// it counts requests and those in progress.
type testBackend struct {
	name     string
	srv      *httptest.Server
	hits     atomic.Int64
	inflight atomic.Int64
	started  chan string // receives the path of every /slow and /stuck request as it starts
}

func startBackend(t testing.TB, name string) *testBackend {
	t.Helper()
	b := &testBackend{name: name, started: make(chan string, 100)}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		b.inflight.Add(1)
		defer b.inflight.Add(-1)
		switch r.URL.Path {
		case "/slow":
			d, _ := time.ParseDuration(r.URL.Query().Get("d"))
			b.started <- r.URL.Path
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		case "/stuck":
			b.started <- r.URL.Path
			<-r.Context().Done()
			return
		case "/echo-headers":
			for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Connection", "Keep-Alive"} {
				fmt.Fprintf(w, "%s=%s\n", k, r.Header.Get(k))
			}
			fmt.Fprintf(w, "Host=%s\n", r.Host)
			return
		case "/body":
			data, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s:%s", name, data)
			return
		}
		io.WriteString(w, name)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *testBackend) addr() string { return b.srv.Listener.Addr().String() }

// kill makes the backend vanish like a crashed replica: no new
// connections, open ones reset.
func (b *testBackend) kill() {
	b.srv.Listener.Close()
	b.srv.CloseClientConnections()
}

func newTestProxy(t testing.TB, o Options) *Proxy {
	t.Helper()
	// The suite runs a second time with the event loops off (Makefile),
	// so the goroutine fast path is tested on its own too.
	if os.Getenv("BERTH_PROXY_GOROUTINE_PER_CONN") == "1" {
		o.GoroutinePerConn = true
	}
	p := New(o)
	t.Cleanup(func() { p.Close() })
	return p
}

// freeAddr returns a 127.0.0.1 address nothing listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func be(id, addr string, ready bool) Backend { return Backend{ID: id, Addr: addr, Ready: ready} }

func httpConfig(addr string, routes ...Route) Config {
	return Config{Listeners: []Listener{{Addr: addr, Mode: ModeHTTP, Routes: routes}}}
}

func mustApply(t testing.TB, p *Proxy, cfg Config) {
	t.Helper()
	if err := p.Apply(cfg); err != nil {
		t.Fatal(err)
	}
}

// get fetches url and returns status and body, or an error.
func get(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func mustGet(t testing.TB, c *http.Client, url string) string {
	t.Helper()
	code, body, err := get(c, url)
	if err != nil {
		t.Fatal(err)
	}
	if code != 200 {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	return body
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newClient() *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
}

func TestProxyRoundRobinSpreadsEvenly(t *testing.T) {
	b1, b2, b3 := startBackend(t, "a"), startBackend(t, "b"), startBackend(t, "c")
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{
		be("a", b1.addr(), true), be("b", b2.addr(), true), be("c", b3.addr(), true)}}))
	c := newClient()
	seen := map[string]int{}
	for i := 0; i < 30; i++ {
		seen[mustGet(t, c, "http://"+addr+"/")]++
	}
	if seen["a"] != 10 || seen["b"] != 10 || seen["c"] != 10 {
		t.Fatalf("round robin spread: %v", seen)
	}
}

func TestProxyLeastConnAvoidsBusyBackend(t *testing.T) {
	busy, idle := startBackend(t, "busy"), startBackend(t, "idle")
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Balance: LeastConn, Backends: []Backend{
		be("busy", busy.addr(), true), be("idle", idle.addr(), true)}}))
	c := newClient()
	// Park two slow requests; least_conn places them one per backend, so
	// send them to "busy" directly by filling it first: keep sending slow
	// requests until busy holds one, then check new requests avoid it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/stuck", nil)
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	waitFor(t, "both stuck requests at the backends", 5*time.Second, func() bool {
		return busy.inflight.Load()+idle.inflight.Load() == 2
	})
	if busy.inflight.Load() != 1 || idle.inflight.Load() != 1 {
		t.Fatalf("least_conn placed stuck requests %d/%d", busy.inflight.Load(), idle.inflight.Load())
	}
	// One more stuck request on "busy" via a third; now busy has 2 if the
	// policy picks it... instead, add load only on busy by marking idle
	// not-ready for one request, then restore.
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Balance: LeastConn, Backends: []Backend{
		be("busy", busy.addr(), true), be("idle", idle.addr(), false)}}))
	wg.Add(1)
	go func() {
		defer wg.Done()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/stuck", nil)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, "third stuck request on busy", 5*time.Second, func() bool { return busy.inflight.Load() == 2 })
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Balance: LeastConn, Backends: []Backend{
		be("busy", busy.addr(), true), be("idle", idle.addr(), true)}}))
	for i := 0; i < 10; i++ {
		if got := mustGet(t, c, "http://"+addr+"/"); got != "idle" {
			t.Fatalf("request %d went to %s with 2 in flight there and 1 on idle", i, got)
		}
	}
	cancel()
	wg.Wait()
}

func TestProxyRoutesByHost(t *testing.T) {
	api, web := startBackend(t, "api"), startBackend(t, "web")
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr,
		Route{Service: "s/api", Hosts: []string{"API.example.com"}, Backends: []Backend{be("api", api.addr(), true)}},
		Route{Service: "s/web", Backends: []Backend{be("web", web.addr(), true)}},
	))
	c := newClient()
	do := func(host string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Host = host
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do("api.example.com:" + strings.Split(addr, ":")[1]); code != 200 || body != "api" {
		t.Fatalf("api host: %d %q", code, body)
	}
	if code, body := do("Api.Example.COM"); code != 200 || body != "api" {
		t.Fatalf("api host, mixed case: %d %q", code, body)
	}
	if code, body := do("other.example.com"); code != 200 || body != "web" {
		t.Fatalf("default route: %d %q", code, body)
	}
	// Without a default route an unknown host is a 404 naming the host.
	mustApply(t, p, httpConfig(addr,
		Route{Service: "s/api", Hosts: []string{"api.example.com"}, Backends: []Backend{be("api", api.addr(), true)}}))
	if code, body := do("nope.example.com"); code != 404 || !strings.Contains(body, "nope.example.com") {
		t.Fatalf("unknown host: %d %q", code, body)
	}
}

func TestProxySetsForwardedHeaders(t *testing.T) {
	b := startBackend(t, "a")
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", b.addr(), true)}}))
	req, _ := http.NewRequest("GET", "http://"+addr+"/echo-headers", nil)
	req.Header.Set("X-Forwarded-For", "10.0.0.1")
	req.Header.Set("Connection", "keep-alive, X-Secret")
	req.Header.Set("X-Secret", "hop")
	req.Host = "shop.example.com"
	resp, err := newClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"X-Forwarded-For=10.0.0.1, 127.0.0.1\n", "X-Forwarded-Proto=http\n", "X-Forwarded-Host=shop.example.com\n", "Host=shop.example.com\n", "Keep-Alive=\n"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("backend saw:\n%s\nwant %q", body, want)
		}
	}
}

func TestProxyNotReadyBackendGetsNothing(t *testing.T) {
	ready, notReady := startBackend(t, "ready"), startBackend(t, "notready")
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{
		be("ready", ready.addr(), true), be("notready", notReady.addr(), false)}}))
	c := newClient()
	for i := 0; i < 20; i++ {
		if got := mustGet(t, c, "http://"+addr+"/"); got != "ready" {
			t.Fatalf("request %d went to %s", i, got)
		}
	}
	if n := notReady.hits.Load(); n != 0 {
		t.Fatalf("not-ready backend got %d requests", n)
	}
}

// A steady client must see no failure while one of two backends dies.
func TestProxyRetriesWhenBackendDies(t *testing.T) {
	b1, b2 := startBackend(t, "a"), startBackend(t, "b")
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{
		be("a", b1.addr(), true), be("b", b2.addr(), true)}}))

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, body, err := get(c, "http://"+addr+"/")
				if err != nil || code != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %q %v", code, body, err))
					continue
				}
				ok.Add(1)
			}
		}()
	}
	waitFor(t, "steady traffic", 5*time.Second, func() bool { return ok.Load() > 200 })
	b1.kill()
	before := ok.Load()
	waitFor(t, "traffic after the kill", 10*time.Second, func() bool { return ok.Load() > before+500 })
	close(stop)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d failed requests (first: %v) of %d", n, firstErr.Load(), ok.Load()+n)
	}
	st := p.Status()[0].Backends
	if st[0].Failures == 0 {
		t.Errorf("killed backend shows no failures: %+v", st)
	}
}

// A GET in flight on a backend that resets its connection is retried; a
// POST with a body is not (it may have had an effect) and gets a 502.
func TestProxyRetryOnlyIdempotent(t *testing.T) {
	good := startBackend(t, "good")
	// A backend that accepts, reads the request and hangs up.
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
			go func() {
				buf := make([]byte, 4096)
				c.Read(buf)
				c.Close()
			}()
		}
	}()
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{
		be("bad", ln.Addr().String(), true), be("good", good.addr(), true)}}))
	c := newClient()
	for i := 0; i < 6; i++ {
		if got := mustGet(t, c, "http://"+addr+"/"); got != "good" {
			t.Fatalf("GET %d: %q", i, got)
		}
	}
	var got502 bool
	for i := 0; i < 6; i++ {
		resp, err := c.Post("http://"+addr+"/body", "text/plain", strings.NewReader("payload"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == 502:
			got502 = true
		case resp.StatusCode == 200 && string(body) == "good:payload":
		default:
			t.Fatalf("POST %d: %d %q", i, resp.StatusCode, body)
		}
	}
	if !got502 {
		// The bad backend was marked failed by the GETs and may be skipped;
		// wait out the pause and go straight at it.
		t.Log("bad backend skipped by passive health; checking with it alone")
	}
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("bad2", ln.Addr().String(), true)}}))
	resp, err := c.Post("http://"+addr+"/body", "text/plain", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 502 {
		t.Fatalf("POST to a backend that hangs up: %d, want 502", resp.StatusCode)
	}
}

// A POST whose dial fails is retried with its body intact.
func TestProxyRetriesPostOnDialFailure(t *testing.T) {
	good := startBackend(t, "good")
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{
		be("gone", freeAddr(t), true), be("good", good.addr(), true)}}))
	c := newClient()
	for i := 0; i < 4; i++ {
		resp, err := c.Post("http://"+addr+"/body", "text/plain", strings.NewReader("payload"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "good:payload" {
			t.Fatalf("POST %d: %d %q", i, resp.StatusCode, body)
		}
	}
}

// With no Ready backend a request waits for one; with none coming it gets
// a 503 after the hold time.
func TestProxyHoldsRequestUntilBackendReady(t *testing.T) {
	b := startBackend(t, "a")
	p := newTestProxy(t, Options{})
	p.holdTimeout = 300 * time.Millisecond
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", b.addr(), false)}}))
	c := newClient()
	start := time.Now()
	if code, _, err := get(c, "http://"+addr+"/"); err != nil || code != 503 {
		t.Fatalf("no ready backend: %d %v", code, err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Fatalf("503 after %s, before the hold time", time.Since(start))
	}

	p.holdTimeout = 10 * time.Second
	done := make(chan string, 1)
	go func() {
		code, body, err := get(c, "http://"+addr+"/")
		done <- fmt.Sprintf("%d %s %v", code, body, err)
	}()
	waitFor(t, "request waiting in the proxy", 5*time.Second, func() bool {
		return waitingRequests(p) > 0
	})
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", b.addr(), true)}}))
	if got := <-done; got != "200 a <nil>" {
		t.Fatalf("held request: %s", got)
	}
}

// waitingRequests counts requests parked in the proxy (test hook).
func waitingRequests(p *Proxy) int64 { return p.waiting.Load() }

func TestProxyDrainWaitsForInflight(t *testing.T) {
	old, replacement := startBackend(t, "old"), startBackend(t, "new")
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("old", old.addr(), true)}}))
	c := newClient()
	slow := make(chan string, 1)
	go func() {
		code, body, err := get(c, "http://"+addr+"/slow?d=1s")
		slow <- fmt.Sprintf("%d %s %v", code, body, err)
	}()
	<-old.started
	started := time.Now()
	defer func() {
		if d := time.Since(started); d < time.Second {
			t.Errorf("test finished %s after the 1s request started", d)
		}
	}()
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{
		be("old", old.addr(), false), be("new", replacement.addr(), true)}}))
	if got := mustGet(t, c, "http://"+addr+"/"); got != "new" {
		t.Fatalf("new request went to %s", got)
	}
	if err := p.Drain(context.Background(), "old"); err != nil {
		t.Fatal(err)
	}
	// Drain returned only once the proxy was done with the slow request
	// (the backend finished it, the proxy passed the answer on).
	if n := p.Status()[0].Backends[0].InFlight; n != 0 {
		t.Fatalf("Drain returned with %d in flight", n)
	}
	select {
	case got := <-slow:
		if got != "200 old <nil>" {
			t.Fatalf("slow request: %s", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("slow request did not complete after Drain")
	}
	if old.inflight.Load() != 0 {
		t.Fatal("old backend still busy after Drain")
	}
	// Unknown and idle backends drain at once.
	if err := p.Drain(context.Background(), "nope"); err != nil {
		t.Fatal(err)
	}
	if err := p.Drain(context.Background(), "new"); err != nil {
		t.Fatal(err)
	}
}

func TestProxyDrainTimeoutCutsStuckRequest(t *testing.T) {
	b := startBackend(t, "a")
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	route := Route{Service: "s/web", DrainTimeout: Duration(200 * time.Millisecond), Backends: []Backend{be("a", b.addr(), true)}}
	mustApply(t, p, httpConfig(addr, route))
	stuck := make(chan int, 1)
	go func() {
		code, _, _ := get(newClient(), "http://"+addr+"/stuck")
		stuck <- code
	}()
	<-b.started
	route.Backends = nil
	mustApply(t, p, httpConfig(addr, route))
	start := time.Now()
	if err := p.Drain(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Fatalf("Drain took %s with a 200ms timeout", d)
	}
	select {
	case code := <-stuck:
		if code == 200 {
			t.Fatalf("stuck request answered 200 after being cut")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stuck request still running after Drain")
	}
	waitFor(t, "backend handler to see the cut", 5*time.Second, func() bool { return b.inflight.Load() == 0 })
}

func TestProxyDrainHonoursContext(t *testing.T) {
	b := startBackend(t, "a")
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", b.addr(), true)}}))
	reqCtx, stopClient := context.WithCancel(context.Background())
	defer stopClient()
	go func() {
		req, _ := http.NewRequestWithContext(reqCtx, "GET", "http://"+addr+"/stuck", nil)
		if resp, err := newClient().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-b.started
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", b.addr(), false)}}))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Drain(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain with an ending context: %v", err)
	}
}

func TestProxyApplyIsAtomicWhenPortTaken(t *testing.T) {
	b := startBackend(t, "a")
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	good := httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", b.addr(), true)}})
	mustApply(t, p, good)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	free := freeAddr(t)
	bad := good
	bad.Listeners = append([]Listener{}, good.Listeners...)
	bad.Listeners[0].Routes = []Route{{Service: "s/other", Backends: []Backend{be("x", "127.0.0.1:1", true)}}}
	bad.Listeners = append(bad.Listeners,
		Listener{Addr: free, Mode: ModeHTTP, Routes: []Route{{Service: "s/b", Backends: []Backend{be("a", b.addr(), true)}}}},
		Listener{Addr: taken.Addr().String(), Mode: ModeHTTP, Routes: []Route{{Service: "s/c", Backends: []Backend{be("a", b.addr(), true)}}}})
	err = p.Apply(bad)
	if err == nil || !strings.Contains(err.Error(), taken.Addr().String()) {
		t.Fatalf("Apply with a taken port: %v", err)
	}
	if got := mustGet(t, newClient(), "http://"+addr+"/"); got != "a" {
		t.Fatalf("old listener after failed Apply: %q", got)
	}
	if _, err := net.Dial("tcp", free); err == nil {
		t.Fatalf("%s listens after a failed Apply", free)
	}
	if cfg := p.Config(); len(cfg.Listeners) != 1 || cfg.Listeners[0].Routes[0].Service != "s/web" {
		t.Fatalf("config changed by a failed Apply: %+v", cfg)
	}
	// The freed address binds on a later Apply.
	ln2 := free
	mustApply(t, p, Config{Listeners: append(good.Listeners, Listener{Addr: ln2, Mode: ModeHTTP, Routes: []Route{{Service: "s/b", Backends: []Backend{be("a", b.addr(), true)}}}})})
	mustGet(t, newClient(), "http://"+ln2+"/")
}

// A client connecting anew for every request sees no error while the
// config is applied over and over with the same listener address.
func TestProxyKeepsListenerAcrossApply(t *testing.T) {
	b1, b2 := startBackend(t, "a"), startBackend(t, "b")
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	cfgs := []Config{
		httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", b1.addr(), true)}}),
		httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", b1.addr(), true), be("b", b2.addr(), true)}}),
		httpConfig(addr, Route{Service: "s/web", Balance: LeastConn, Backends: []Backend{be("b", b2.addr(), true)}}),
	}
	mustApply(t, p, cfgs[0])
	var ok, failed atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		for {
			select {
			case <-stop:
				return
			default:
			}
			if code, _, err := get(c, "http://"+addr+"/"); err != nil || code != 200 {
				failed.Add(1)
				t.Logf("request failed: %d %v", code, err)
				continue
			}
			ok.Add(1)
		}
	}()
	for i := 0; i < 60; i++ {
		mustApply(t, p, cfgs[i%len(cfgs)])
		n := ok.Load()
		waitFor(t, "a request between applies", 5*time.Second, func() bool { return ok.Load() > n })
	}
	close(stop)
	<-done
	if failed.Load() != 0 {
		t.Fatalf("%d failed requests across applies (%d ok)", failed.Load(), ok.Load())
	}
}

func TestProxyRemovedListenerCloses(t *testing.T) {
	b := startBackend(t, "a")
	p := newTestProxy(t, Options{})
	a1, a2 := freeAddr(t), freeAddr(t)
	route := Route{Service: "s/web", Backends: []Backend{be("a", b.addr(), true)}}
	mustApply(t, p, Config{Listeners: []Listener{{Addr: a1, Mode: ModeHTTP, Routes: []Route{route}}, {Addr: a2, Mode: ModeHTTP, Routes: []Route{route}}}})
	mustGet(t, newClient(), "http://"+a2+"/")
	mustApply(t, p, httpConfig(a1, route))
	waitFor(t, a2+" to stop listening", 5*time.Second, func() bool {
		c, err := net.Dial("tcp", a2)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	mustGet(t, newClient(), "http://"+a1+"/")
}

func TestProxyCloseFinishesInflight(t *testing.T) {
	b := startBackend(t, "a")
	p := New(Options{})
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", b.addr(), true)}}))
	slow := make(chan string, 1)
	go func() {
		code, body, err := get(newClient(), "http://"+addr+"/slow?d=300ms")
		slow <- fmt.Sprintf("%d %s %v", code, body, err)
	}()
	<-b.started
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if got := <-slow; got != "200 a <nil>" {
		t.Fatalf("request in flight during Close: %s", got)
	}
	if err := p.Apply(httpConfig(addr)); err == nil {
		t.Fatal("Apply after Close succeeded")
	}
}

func TestProxyStatus(t *testing.T) {
	b := startBackend(t, "a")
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Hosts: []string{"x.test"}, Backends: []Backend{be("a", b.addr(), true), be("b", "127.0.0.1:9", false)}}))
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Host = "x.test"
	resp, err := newClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	st := p.Status()
	if len(st) != 1 || st[0].Listener != addr || st[0].Service != "s/web" || len(st[0].Backends) != 2 {
		t.Fatalf("status: %+v", st)
	}
	if a := st[0].Backends[0]; a.ID != "a" || !a.Ready || a.Requests != 1 || a.InFlight != 0 {
		t.Fatalf("backend a: %+v", a)
	}
	if bb := st[0].Backends[1]; bb.Ready || bb.Requests != 0 {
		t.Fatalf("backend b: %+v", bb)
	}
}
