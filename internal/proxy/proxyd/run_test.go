package proxyd

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
)

// SIGTERM lets a request in flight finish, then the process exits 0 and
// removes its socket; --metrics serves Prometheus text on TCP meanwhile.
func TestRunSIGTERM(t *testing.T) {
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "proxy.sock")
	metrics := freeAddr(t)
	cmd := exec.Command(exe, "proxy", "--socket", sock, "--state", filepath.Join(dir, "state.json"), "--metrics", metrics)
	cmd.Env = append(os.Environ(), proxyEnv+"=1")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	done := make(chan struct{})
	go func() { exited <- cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill() // an error once it has exited: fine
		<-done
	})

	c := NewClient(sock)
	ctx := ctxT(t, 30*time.Second)
	for c.Ping(ctx) != nil {
		select {
		case err := <-exited:
			t.Fatalf("proxy exited: %v\n%s", err, log.String())
		case <-ctx.Done():
			t.Fatal("proxy did not answer")
		case <-time.After(20 * time.Millisecond):
		}
	}

	started := make(chan struct{}, 1)
	slow := backend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		time.Sleep(500 * time.Millisecond)
		io.WriteString(w, "slow done")
	})
	listen := freeAddr(t)
	if err := c.Apply(ctx, httpConfig(listen, "shop/web", proxy.Backend{ID: "s", Addr: slow, Ready: true})); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatalf("metrics on --metrics: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "process_open_fds") || !strings.Contains(string(b), "go_goroutines") {
		t.Errorf("--metrics answer %s lacks the process and Go collectors:\n%.500s", resp.Status, b)
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
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, log.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit within 15 s of SIGTERM")
	}
	if got := <-body; got != "slow done" {
		t.Errorf("request in flight at SIGTERM got %q", got)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket after exit: %v", err)
	}
}

// A second proxy on the same socket refuses to start and leaves the first
// one serving.
func TestRunRefusesLiveSocket(t *testing.T) {
	o := ensureOptions(t, t.TempDir())
	p := startProxy(t, o)
	ctx := ctxT(t, 10*time.Second)
	err := Run(ctx, RunOptions{Socket: o.Socket, State: filepath.Join(t.TempDir(), "state.json")})
	if err == nil || !strings.Contains(err.Error(), "another berth proxy") {
		t.Fatalf("second proxy on a live socket: %v", err)
	}
	if err := p.client.Ping(ctx); err != nil {
		t.Errorf("the first proxy stopped answering: %v", err)
	}
}

func TestRunValidates(t *testing.T) {
	for _, o := range []RunOptions{{State: "/tmp/s.json"}, {Socket: "/tmp/p.sock"}} {
		if err := Run(context.Background(), o); err == nil {
			t.Errorf("Run(%+v) succeeded", o)
		}
	}
}

// A saved config whose port is still held for a moment (the previous
// proxy's sockets closing) is retried rather than dropped.
func TestRunRetriesSavedPortInUse(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := busy.Addr().String()
	state := filepath.Join(dir, "state.json")
	if err := SaveState(state, httpConfig(listen, "shop/web", proxy.Backend{ID: "a", Addr: backend(t, "a", nil), Ready: true})); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- Run(ctx, RunOptions{Socket: filepath.Join(dir, "proxy.sock"), State: state}) }()
	defer func() { cancel(); <-ran }()
	time.Sleep(300 * time.Millisecond) // the old holder goes away a little later, as after a kill -9
	busy.Close()

	c := NewClient(filepath.Join(dir, "proxy.sock"))
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(ctxT(t, time.Second)) != nil {
		if time.Now().After(deadline) {
			t.Fatal("proxy did not answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := get(t, listen); got != "hello from a" {
		t.Errorf("saved config after the port came free: %q", got)
	}
}
