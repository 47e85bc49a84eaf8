package proxyd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth-dev/berth/internal/proxy"
)

// apiServer serves a real proxy's API in this process over a unix socket.
func apiServer(t *testing.T) (c *Client, state string) {
	t.Helper()
	dir := t.TempDir()
	state = filepath.Join(dir, "state.json")
	reg := prometheus.NewRegistry()
	p := proxy.New(proxy.Options{Registerer: reg})
	t.Cleanup(func() { p.Close() })
	srv, err := NewServer(ServerOptions{Proxy: p, State: state, Gatherer: reg})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "proxy.sock")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener = l
	hs.Start()
	t.Cleanup(hs.Close)
	return NewClient(sock), state
}

func TestServerConfigRoundTrip(t *testing.T) {
	c, state := apiServer(t)
	ctx := ctxT(t, 10*time.Second)
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state before any Apply: %v", err)
	}
	listen := freeAddr(t)
	cfg := httpConfig(listen, "shop/web", proxy.Backend{ID: "a", Addr: backend(t, "a", nil), Ready: true})
	cfg.Listeners[0].Routes[0].DrainTimeout = proxy.Duration(3 * time.Second)
	if err := c.Apply(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := c.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	saved, found, err := LoadState(state)
	if err != nil || !found {
		t.Fatalf("state after Apply: found %v, %v", found, err)
	}
	if got.Listeners[0].Addr != listen || saved.Listeners[0].Routes[0].DrainTimeout != proxy.Duration(3*time.Second) {
		t.Errorf("config %+v, saved %+v", got, saved)
	}
	if get(t, listen) != "hello from a" {
		t.Error("proxy does not serve the applied config")
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].Service != "shop/web" || len(st[0].Backends) != 1 || st[0].Backends[0].Requests != 1 {
		t.Errorf("status after one request: %+v", st)
	}
	// No tls: auto listener: an empty list, not null.
	certs, err := c.Certificates(ctx)
	if err != nil || certs == nil || len(certs) != 0 {
		t.Errorf("certificates without tls auto: %v %v", certs, err)
	}
}

// A config the proxy rejects changes nothing: not the proxy, not the
// state file; the daemon gets the proxy's own error text.
func TestServerRejectedConfigKeepsState(t *testing.T) {
	c, state := apiServer(t)
	ctx := ctxT(t, 10*time.Second)
	good := freeAddr(t)
	be := proxy.Backend{ID: "a", Addr: backend(t, "a", nil), Ready: true}
	if err := c.Apply(ctx, httpConfig(good, "shop/web", be)); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	inUse := httpConfig(good, "shop/web", be)
	inUse.Listeners = append(inUse.Listeners, httpConfig(busy.Addr().String(), "shop/api", be).Listeners...)
	err = c.Apply(ctx, inUse)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict ||
		!strings.Contains(err.Error(), busy.Addr().String()) || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("Apply with a port in use: %v, want 409 naming %s", err, busy.Addr())
	}

	invalid := httpConfig(freeAddr(t), "shop/web", be)
	invalid.Listeners[0].Mode = "udp"
	err = c.Apply(ctx, invalid)
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !strings.Contains(err.Error(), "udp") {
		t.Errorf("Apply with mode udp: %v, want 400 naming the mode", err)
	}

	after, err := os.ReadFile(state)
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("state file changed by rejected configs (%v):\n%s\n---\n%s", err, before, after)
	}
	if got := get(t, good); got != "hello from a" {
		t.Errorf("after rejected configs: %q", got)
	}
}

func TestServerRejectsMalformedRequests(t *testing.T) {
	c, _ := apiServer(t)
	for _, tc := range []struct{ method, path, body, want string }{
		{"PUT", "/config", `{"listeners": [], "extra": 1}`, "unknown field"},
		{"PUT", "/config", `{"listeners": `, "config JSON"},
		{"PUT", "/config", `{} {}`, "trailing"},
		{"POST", "/drain", ``, "backend"},
	} {
		req, _ := http.NewRequest(tc.method, "http://berth-proxy"+tc.path, strings.NewReader(tc.body))
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s %s %q: %s %s, want 400 mentioning %q", tc.method, tc.path, tc.body, resp.Status, b, tc.want)
		}
	}
}

// POST /drain returns only once the request in flight on the backend has
// finished, and stops waiting when the caller goes away.
func TestServerDrainWaitsForInFlight(t *testing.T) {
	c, _ := apiServer(t)
	ctx := ctxT(t, 30*time.Second)
	started := make(chan struct{}, 4)
	var finished atomic.Bool
	slow := backend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		time.Sleep(time.Second) // the work of a slow request, not synchronisation
		finished.Store(true)
		io.WriteString(w, "slow done")
	})
	listen := freeAddr(t)
	be := proxy.Backend{ID: "slow-1", Addr: slow, Ready: true}
	if err := c.Apply(ctx, httpConfig(listen, "shop/web", be)); err != nil {
		t.Fatal(err)
	}
	body := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + listen + "/")
		if err != nil {
			body <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body <- string(b)
	}()
	<-started

	be.Ready = false
	if err := c.Apply(ctx, httpConfig(listen, "shop/web", be)); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if err := c.Drain(ctx, "slow-1"); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if !finished.Load() {
		t.Errorf("Drain returned after %v with the request still running on the backend", time.Since(begin))
	}
	if got := <-body; got != "slow done" {
		t.Errorf("the drained request got %q", got)
	}

	// A caller giving up ends the wait; the request keeps going.
	be.Ready = true
	if err := c.Apply(ctx, httpConfig(listen, "shop/web", be)); err != nil {
		t.Fatal(err)
	}
	finished.Store(false)
	go func() {
		resp, err := http.Get("http://" + listen + "/")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	begin = time.Now()
	if err := c.Drain(short, "slow-1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Drain with a 100ms context: %v", err)
	}
	if d := time.Since(begin); d > 700*time.Millisecond {
		t.Errorf("Drain with a 100ms context took %v", d)
	}

	if err := c.Drain(ctx, "no-such-backend"); err != nil {
		t.Errorf("Drain of an unknown backend: %v", err)
	}
}

func TestServerMetrics(t *testing.T) {
	c, _ := apiServer(t)
	ctx := ctxT(t, 10*time.Second)
	listen := freeAddr(t)
	if err := c.Apply(ctx, httpConfig(listen, "shop/web", proxy.Backend{ID: "a", Addr: backend(t, "a", nil), Ready: true})); err != nil {
		t.Fatal(err)
	}
	get(t, listen)
	text := metricsText(t, c)
	if !strings.Contains(text, "berth_proxy_") || !strings.Contains(text, `service="shop/web"`) {
		t.Errorf("no berth_proxy_ series for shop/web after a request:\n%s", text)
	}
}

func metricsText(t *testing.T, c *Client) string {
	t.Helper()
	resp, err := c.http.Get("http://berth-proxy/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	return string(b)
}
