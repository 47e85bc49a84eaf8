//go:build linux

package main

import (
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

	"github.com/berth-dev/berth/internal/engine/api"
)

// The long-running daemons of the benchmark: berth's and a private dockerd.

// child is a long-running helper process (berth daemon, dockerd).
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
		// SIGTERM, not SIGKILL, if enginebench dies: both daemons clean up
		// on SIGTERM (dockerd stops its containerd).
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
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
		time.Sleep(50 * time.Millisecond) // polling a child's socket; there is no event to wait on
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

func (c *child) pid() int { return c.cmd.Process.Pid }

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

// berthDaemon is `berth daemon` with its own root, run directory and socket.
type berthDaemon struct {
	*child
	root, runDir, socket string
	client               *api.Client
}

func startBerthDaemon(ctx context.Context, bin, dir string) (*berthDaemon, error) {
	d := &berthDaemon{root: filepath.Join(dir, "root"), runDir: filepath.Join(dir, "run"), socket: filepath.Join(dir, "berth.sock")}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	c, err := startChild("berth daemon", filepath.Join(dir, "daemon.log"),
		exec.Command(bin, "daemon", "--root", d.root, "--run-dir", d.runDir, "--socket", d.socket))
	if err != nil {
		return nil, err
	}
	d.child = c
	d.client = api.NewClient(d.socket)
	err = c.waitReady(ctx, 30*time.Second, func() error {
		_, err := d.client.Ping(ctx, time.Second)
		return err
	})
	if err != nil {
		c.stop(10 * time.Second)
		return nil, err
	}
	return d, nil
}

// dockerDaemon is a private dockerd (as in bench/buildbench): its own data
// root, exec root and socket, no iptables; containers join a bridge the
// benchmark creates (and deletes), so docker's containers get a veth and an
// address as berth's do.
type dockerDaemon struct {
	*child
	bin    string
	dir    string
	bridge string
	env    []string // DOCKER_HOST and an isolated DOCKER_CONFIG for the CLI
}

func startDockerd(ctx context.Context, bin, cli, dir, bridge, bridgeCIDR string) (*dockerDaemon, error) {
	if err := os.MkdirAll(filepath.Join(dir, "cli"), 0o700); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"link", "add", bridge, "type", "bridge"},
		{"addr", "add", bridgeCIDR, "dev", bridge},
		{"link", "set", bridge, "up"},
	} {
		if err := runCmd(ctx, "", nil, "ip", args...); err != nil {
			_ = runCmd(context.Background(), "", nil, "ip", "link", "del", bridge)
			return nil, fmt.Errorf("bridge for dockerd: %w", err)
		}
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
		"--bridge", bridge,
		"--iptables=false", "--ip-forward=false", "--ip-masq=false",
		"--storage-driver=overlay2",
		"--log-level=warn",
	)
	c, err := startChild("dockerd", filepath.Join(dir, "dockerd.log"), cmd)
	if err != nil {
		_ = runCmd(context.Background(), "", nil, "ip", "link", "del", bridge)
		return nil, err
	}
	d := &dockerDaemon{child: c, bin: cli, dir: dir, bridge: bridge,
		env: []string{"DOCKER_HOST=unix://" + sock, "DOCKER_CONFIG=" + filepath.Join(dir, "cli")}}
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

// docker runs the docker CLI against the private daemon.
func (d *dockerDaemon) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, d.bin, args...)
	cmd.Env = append(os.Environ(), d.env...)
	return cmd
}

func (d *dockerDaemon) run(ctx context.Context, args ...string) (string, error) {
	out, err := d.command(ctx, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker %s: %v\n%s", strings.Join(args, " "), err, tail(out, 2000))
	}
	return string(out), nil
}

// removeAll force-removes every container of the private daemon.
func (d *dockerDaemon) removeAll(ctx context.Context) error {
	ids, err := d.run(ctx, "ps", "-aq")
	if err != nil || strings.TrimSpace(ids) == "" {
		return err
	}
	_, err = d.run(ctx, append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
	return err
}

// stop removes the containers, ends dockerd (it stops its own containerd),
// unmounts whatever it left, removes its directory and the bridge.
func (d *dockerDaemon) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_ = d.removeAll(ctx)
	d.child.stop(20 * time.Second)
	for _, m := range mountsUnder(d.dir) {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
	_ = os.RemoveAll(d.dir)
	_ = runCmd(ctx, "", nil, "ip", "link", "del", d.bridge)
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

// freeSubnet picks a 10.x.y.0/24 for the docker bridge that no host route
// covers (berth allocates from 10.89.0.0/16 and checks host routes too, so
// the two do not collide once the bridge exists).
func freeSubnet() (gatewayCIDR string, err error) {
	ifaces, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	for y := 240; y < 256; y++ {
		cand := &net.IPNet{IP: net.IPv4(10, 213, byte(y), 0).To4(), Mask: net.CIDRMask(24, 32)}
		clash := false
		for _, a := range ifaces {
			if n, ok := a.(*net.IPNet); ok && (n.Contains(cand.IP) || cand.Contains(n.IP)) {
				clash = true
			}
		}
		if !clash {
			return fmt.Sprintf("10.213.%d.1/24", y), nil
		}
	}
	return "", fmt.Errorf("no free /24 in 10.213.240.0/20 for the docker bridge")
}
