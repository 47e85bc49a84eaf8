package proxyd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
)

// proxyEnv switches the test binary into being `berth proxy`, so the
// process tests need neither cmd/berth (which other work may have broken
// for a moment) nor a build step.
const proxyEnv = "BERTH_PROXYD_TEST_AS_PROXY"

func TestMain(m *testing.M) {
	if os.Getenv(proxyEnv) == "1" {
		os.Exit(proxyMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// proxyMain mirrors cmd/berth's proxy command: "proxy --socket ... ".
func proxyMain(args []string) int {
	if len(args) == 0 || args[0] != "proxy" {
		fmt.Fprintf(os.Stderr, "test proxy: want \"proxy\" and flags, got %q\n", args)
		return 2
	}
	var o RunOptions
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.StringVar(&o.Socket, "socket", "", "")
	fs.StringVar(&o.State, "state", "", "")
	fs.StringVar(&o.Metrics, "metrics", "", "")
	fs.BoolVar(&o.Takeover, "takeover", false, "")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, err) // Run's errors name "berth proxy" already
		return 1
	}
	return 0
}

// testProxy is a proxy process started through Ensure.
type testProxy struct {
	opts   EnsureOptions
	client *Client
}

func ensureOptions(t *testing.T, dir string) EnsureOptions {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return EnsureOptions{
		Binary:  exe,
		Socket:  filepath.Join(dir, "run", "proxy.sock"),
		State:   filepath.Join(dir, "state", "state.json"),
		LogFile: filepath.Join(dir, "proxy.log"),
		Env:     []string{proxyEnv + "=1"},
	}
}

// startProxy starts (or finds) the proxy for o and stops it when the test
// ends, killing it if it does not stop.
func startProxy(t *testing.T, o EnsureOptions) *testProxy {
	t.Helper()
	c, err := Ensure(ctxT(t, 10*time.Second), o)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	t.Cleanup(func() { stopProxy(t, o.Socket) })
	return &testProxy{opts: o, client: c}
}

func stopProxy(t *testing.T, socket string) {
	c := NewClient(socket)
	h, err := c.Health(context.Background())
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Stop(ctx, socket); err != nil {
		t.Errorf("Stop: %v", err)
		syscall.Kill(h.PID, syscall.SIGKILL)
	}
}

func (p *testProxy) pid(t *testing.T) int {
	t.Helper()
	h, err := p.client.Health(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatalf("health: %v", err)
	}
	return h.PID
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// backend is a real HTTP server standing in for a replica.
func backend(t *testing.T, name string, h http.HandlerFunc) (addr string) {
	t.Helper()
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello from "+name) }
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func httpConfig(listenAddr, service string, backends ...proxy.Backend) proxy.Config {
	return proxy.Config{Listeners: []proxy.Listener{{
		Addr: listenAddr, Mode: proxy.ModeHTTP,
		Routes: []proxy.Route{{Service: service, Backends: backends}},
	}}}
}

// get fetches http://addr/ and returns the body (failing on a non-200).
func get(t *testing.T, addr string) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("GET through the proxy on %s: %v", addr, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET through the proxy on %s: %s: %s", addr, resp.Status, b)
	}
	return string(b)
}

// waitGone polls until pid no longer runs.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// refused reports whether nothing accepts connections on addr.
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}
