package e2e

import (
	"context"
	"errors"
	"fmt"
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
)

const (
	kindBerth        = "berth"
	kindDistribution = "distribution"

	// registryEnv picks the server every test runs against.
	registryEnv = "BERTH_E2E_REGISTRY"

	startTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
)

func registryKindFromEnv() (string, error) {
	switch v := os.Getenv(registryEnv); v {
	case "", kindBerth:
		return kindBerth, nil
	case kindDistribution:
		return kindDistribution, nil
	default:
		return "", fmt.Errorf("%s=%q: want %q or %q", registryEnv, v, kindBerth, kindDistribution)
	}
}

// Registry is one running registry server on a loopback port, owned by a test.
type Registry struct {
	Kind    string // kindBerth or kindDistribution
	Host    string // "127.0.0.1:PORT", what clients put in image references
	Root    string // storage directory
	LogPath string // server stdout and stderr

	dir      string // test-owned directory: root, logs, config files
	opts     registryOptions
	launches int // how many processes were started, to name their logs
	stopped  bool

	cmd  *exec.Cmd
	done chan error // holds cmd.Wait's result once the process exited
}

// registryOptions tune startRegistry. Berth-only options are ignored when the
// suite runs against distribution.
type registryOptions struct {
	berthArgs   []string // extra flags after `registry serve`
	berthConfig string   // YAML written to a file and passed as --config
}

type registryOption func(*registryOptions)

// withBerthArgs appends flags to `berth registry serve`.
func withBerthArgs(args ...string) registryOption {
	return func(o *registryOptions) { o.berthArgs = append(o.berthArgs, args...) }
}

// withBerthConfig passes YAML to berth through --config FILE.
func withBerthConfig(yaml string) registryOption {
	return func(o *registryOptions) { o.berthConfig = yaml }
}

// startRegistry starts the suite's registry kind on a free 127.0.0.1 port,
// waits until GET /v2/ answers and stops it when the test ends.
func startRegistry(t testing.TB, opts ...registryOption) *Registry {
	t.Helper()
	var o registryOptions
	for _, opt := range opts {
		opt(&o)
	}
	if suite.kind == kindBerth && suite.buildErr != nil {
		t.Fatalf("berth does not build: %v", suite.buildErr)
	}
	if suite.kind == kindDistribution {
		requireTools(t, distributionBinary())
	}

	r := &Registry{Kind: suite.kind, dir: t.TempDir(), opts: o}
	r.Root = filepath.Join(r.dir, "root")
	// Picking a free port and then binding it in another process races with
	// other listeners; a lost race shows as an early exit, so retry.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		r.Host = fmt.Sprintf("127.0.0.1:%d", port)
		if lastErr = r.launch(t); lastErr == nil {
			t.Cleanup(func() { r.stop(t) })
			return r
		}
	}
	t.Fatalf("start %s registry: %v", suite.kind, lastErr)
	return nil
}

// restart stops the server and starts it again on the same port and root,
// as an operator would after an upgrade: content must survive.
func (r *Registry) restart(t testing.TB) {
	t.Helper()
	r.stop(t)
	if err := r.launch(t); err != nil {
		t.Fatalf("restart %s registry: %v", r.Kind, err)
	}
}

func distributionBinary() string {
	// Debian names it docker-registry; upstream builds name it registry.
	if _, err := exec.LookPath("docker-registry"); err == nil {
		return "docker-registry"
	}
	if _, err := exec.LookPath("registry"); err == nil {
		return "registry"
	}
	return "docker-registry"
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch starts one server process on r.port and waits until it answers.
func (r *Registry) launch(t testing.TB) error {
	r.launches++
	r.stopped = false
	r.LogPath = filepath.Join(r.dir, fmt.Sprintf("server-%d.log", r.launches))
	if err := os.MkdirAll(r.Root, 0o755); err != nil {
		return err
	}

	var name string
	var args []string
	switch r.Kind {
	case kindBerth:
		name = suite.berthBin
		args = []string{"registry", "serve", "--addr", r.Host, "--root", r.Root}
		if r.opts.berthConfig != "" {
			cfg := filepath.Join(r.dir, "berth.yml")
			if err := os.WriteFile(cfg, []byte(r.opts.berthConfig), 0o644); err != nil {
				return err
			}
			args = append(args, "--config", cfg)
		}
		args = append(args, r.opts.berthArgs...)
	case kindDistribution:
		cfg := filepath.Join(r.dir, "distribution.yml")
		if err := os.WriteFile(cfg, []byte(distributionConfig(r.Host, r.Root)), 0o644); err != nil {
			return err
		}
		name = distributionBinary()
		args = []string{"serve", cfg}
	}

	logf, err := os.Create(r.LogPath)
	if err != nil {
		return err
	}
	defer logf.Close() // the child keeps its own descriptor
	r.cmd = exec.Command(name, args...)
	r.cmd.Stdout = logf
	r.cmd.Stderr = logf
	// If the test binary dies (timeout, ^C), take the server with it.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	r.done = make(chan error, 1)
	go func() { r.done <- r.cmd.Wait() }()
	t.Logf("started %s registry on %s: %s %s", r.Kind, r.Host, name, strings.Join(args, " "))

	if err := r.waitReady(); err != nil {
		r.kill()
		return fmt.Errorf("%w\nserver log:\n%s", err, r.logTail())
	}
	return nil
}

// distributionConfig is the smallest config that makes distribution behave
// like berth for the tests: filesystem storage and deletes enabled.
func distributionConfig(addr, root string) string {
	return fmt.Sprintf(`version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: %s
  secret: berth-e2e-not-a-secret
`, root, addr)
}

// waitReady polls GET /v2/ until it answers 200 or 401, the server exits, or
// the deadline passes.
func (r *Registry) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.Host+"/v2/", nil)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		select {
		case err := <-r.done:
			r.done <- err // keep the result for stop
			return fmt.Errorf("server exited before answering GET /v2/: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("GET http://%s/v2/ not answering after %v (last error: %v)", r.Host, startTimeout, err)
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM, waits for exit and kills after stopTimeout. A server
// that does not stop cleanly fails the test: graceful shutdown is behaviour.
func (r *Registry) stop(t testing.TB) {
	if r.stopped {
		return
	}
	r.stopped = true
	if t.Failed() {
		t.Logf("%s registry %s log (%s):\n%s", r.Kind, r.Host, r.LogPath, r.logTail())
	}
	start := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("SIGTERM %s registry: %v", r.Kind, err)
	}
	select {
	case err := <-r.done:
		r.done <- err
		t.Logf("%s registry %s stopped in %v (%v)", r.Kind, r.Host, time.Since(start).Round(time.Millisecond), exitStatus(err))
		// berth must shut down gracefully on SIGTERM and exit 0; how
		// distribution exits is not ours to judge.
		if err != nil && r.Kind == kindBerth {
			t.Errorf("berth registry exited with %v after SIGTERM, want a graceful exit 0; log:\n%s", err, r.logTail())
		}
	case <-time.After(stopTimeout):
		r.kill()
		t.Errorf("%s registry did not exit %v after SIGTERM; killed", r.Kind, stopTimeout)
	}
}

func (r *Registry) kill() {
	r.cmd.Process.Kill()
	err := <-r.done
	r.done <- err
}

// logTail returns the end of the server log, enough to see a failure.
func (r *Registry) logTail() string {
	b, err := os.ReadFile(r.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	const max = 6000
	if len(b) > max {
		b = append([]byte("...\n"), b[len(b)-max:]...)
	}
	return string(b)
}

// Ref returns an image reference on this registry: Ref("a/b:tag").
func (r *Registry) Ref(nameAndRef string) string { return r.Host + "/" + nameAndRef }

// URL returns an http URL on this registry: URL("/v2/").
func (r *Registry) URL(path string) string { return "http://" + r.Host + path }
