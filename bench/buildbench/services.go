package main

import (
	"github.com/berth-dev/berth/bench/internal/benchkit"

	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// The services every tool talks to during the benchmark: a loopback apt
// repository (berth's .debs), berth's registry (every push and ko's base
// image) and a private dockerd.

// aptServer serves a scripts/aptrepo.sh directory on a loopback port from
// this process, so no other server has to be installed.
type aptServer struct {
	srv *http.Server
	url string
}

func startAptServer(dir string) (*aptServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("apt repository listener: %w", err)
	}
	s := &aptServer{srv: &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}, url: "http://" + l.Addr().String()}
	go s.srv.Serve(l) //nolint:errcheck // returns ErrServerClosed on stop
	return s, nil
}

func (s *aptServer) stop() { _ = s.srv.Close() }

// ensureAptRepo builds the repository with scripts/aptrepo.sh unless it is
// already complete (the script itself is idempotent and cheap then).
func ensureAptRepo(ctx context.Context, root, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return nil
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "aptrepo.sh"), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("scripts/aptrepo.sh %s: %v\n%s", dir, err, tail(out, 3000))
	}
	return nil
}

// child is a long-running helper process (registry, dockerd).
type child struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
}

func startChild(name, logPath string, cmd *exec.Cmd) (*child, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create %s log: %w", name, err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = benchkit.ChildProcAttr()
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, cmd.Path, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// waitReady polls ok until it returns nil, the child exits or timeout passes.
func (c *child) waitReady(ctx context.Context, timeout time.Duration, ok func() error) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			return fmt.Errorf("%s exited before it was ready (%v); log:\n%s", c.name, c.waitErr, c.logTail())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if lastErr = ok(); lastErr == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond) // polling a child process's socket; there is no event to wait on
	}
	return fmt.Errorf("%s not ready after %s (last: %v); log:\n%s", c.name, timeout, lastErr, c.logTail())
}

// stop sends SIGTERM, then SIGKILL after grace. Safe to call more than once.
func (c *child) stop(grace time.Duration) {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

func (c *child) logTail() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return string(tail(b, 4000))
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return bytes.TrimSpace(b)
}

// freeAddr asks the kernel for an unused loopback port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// registryConfig keeps berth's registry quiet (as in bench/regbench): a log
// line per request would cost every tool's push alike, but for nothing.
const registryConfig = `log:
  level: warn
  access: false
`

// startRegistry runs `berth registry serve` with its storage under dir.
func startRegistry(ctx context.Context, berthBin, dir string) (*child, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	cfg := filepath.Join(dir, "berth-registry.yaml")
	if err := os.WriteFile(cfg, []byte(registryConfig), 0o600); err != nil {
		return nil, "", err
	}
	c, err := startChild("registry", filepath.Join(dir, "registry.log"),
		exec.Command(berthBin, "registry", "serve", "--config", cfg, "--addr", addr, "--root", filepath.Join(dir, "data")))
	if err != nil {
		return nil, "", err
	}
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	err = c.waitReady(ctx, 30*time.Second, func() error {
		resp, err := client.Get("http://" + addr + "/v2/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /v2/: HTTP %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		c.stop(10 * time.Second)
		return nil, "", err
	}
	return c, addr, nil
}

// dockerDaemon is a private dockerd (as in test/e2e/docker_test.go): its own
// data root, exec root and socket, no bridge and no iptables, so it neither
// needs nor touches a system docker.
type dockerDaemon struct {
	*child
	dir string
	env []string // DOCKER_HOST and an isolated DOCKER_CONFIG for the CLI
}

func startDockerd(ctx context.Context, bin, storage, dir string) (*dockerDaemon, error) {
	if err := os.MkdirAll(filepath.Join(dir, "cli"), 0o700); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "daemon.json")
	// An empty config keeps the host's /etc/docker/daemon.json out.
	if err := os.WriteFile(cfg, []byte("{}"), 0o644); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "docker.sock")
	cmd := exec.Command(bin,
		"--config-file", cfg,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "x"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"--host", "unix://"+sock,
		"--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
		"--storage-driver="+storage,
		"--log-level=warn",
	)
	// SIGTERM, not SIGKILL, if buildbench dies: dockerd then stops its
	// containerd too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	c, err := startChild("dockerd", filepath.Join(dir, "dockerd.log"), cmd)
	if err != nil {
		return nil, err
	}
	d := &dockerDaemon{child: c, dir: dir, env: []string{"DOCKER_HOST=unix://" + sock, "DOCKER_CONFIG=" + filepath.Join(dir, "cli")}}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dialer net.Dialer
		return dialer.DialContext(ctx, "unix", sock)
	}}}
	defer client.CloseIdleConnections()
	err = c.waitReady(ctx, 60*time.Second, func() error {
		resp, err := client.Get("http://docker/_ping")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /_ping: HTTP %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

// stop ends dockerd (it stops its own containerd), unmounts whatever it left
// under its directory and removes the directory.
func (d *dockerDaemon) stop() {
	d.child.stop(20 * time.Second)
	for _, m := range mountsUnder(d.dir) {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
	_ = os.RemoveAll(d.dir)
}

// mountsUnder lists mount points below dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			out = append(out, fields[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}

// shortDir returns a directory for dockerd: unix socket paths are limited to
// 108 bytes and containerd puts its sockets a few levels below exec-root, so
// a long TMPDIR (a test's t.TempDir) falls back to /tmp.
func shortDir(parent string) (string, error) {
	if len(parent) < 40 {
		d := filepath.Join(parent, "d")
		return d, os.MkdirAll(d, 0o700)
	}
	return os.MkdirTemp("/tmp", "bbd-")
}
