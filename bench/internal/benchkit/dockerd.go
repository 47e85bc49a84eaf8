//go:build linux

package benchkit

import (
	"bufio"
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

// Dockerd is a private dockerd (as in bench/buildbench, bench/deploybench
// and bench/enginebench): its own data root, exec root and socket, no
// iptables; its default bridge, if any, is one the benchmark creates (and
// deletes), so the host's docker setup, if any, is neither used nor changed.
type Dockerd struct {
	*Child
	Bin    string // the docker CLI
	Dir    string
	Bridge string   // "" when dockerd runs with --bridge=none
	Env    []string // DOCKER_HOST and an isolated DOCKER_CONFIG for the CLI
}

// DockerdConfig says how to run a private dockerd.
type DockerdConfig struct {
	Bin string // dockerd
	CLI string // the docker CLI later commands use
	Dir string // everything of this dockerd lives below it; keep it short (unix socket paths)
	// Bridge is created with the gateway address BridgeCIDR (e.g.
	// 10.213.240.1/24, see FreeSubnet) as dockerd's default network, and
	// deleted on Stop. Empty: --bridge=none, for builds that need no
	// container network.
	Bridge, BridgeCIDR string
	Storage            string // storage driver (default overlay2)
}

// StartDockerd creates bridge with bridgeCIDR, starts bin (dockerd) with
// everything under dir and overlay2 storage, and waits until it answers
// /_ping. cli is the docker CLI later commands use.
func StartDockerd(ctx context.Context, bin, cli, dir, bridge, bridgeCIDR string) (*Dockerd, error) {
	return StartDockerdWith(ctx, DockerdConfig{Bin: bin, CLI: cli, Dir: dir, Bridge: bridge, BridgeCIDR: bridgeCIDR})
}

// StartDockerdWith starts dockerd as cfg says and waits until it answers
// /_ping.
func StartDockerdWith(ctx context.Context, cfg DockerdConfig) (*Dockerd, error) {
	if cfg.Bin == "" || cfg.CLI == "" || cfg.Dir == "" {
		return nil, fmt.Errorf("dockerd: Bin %q, CLI %q and Dir %q are all required", cfg.Bin, cfg.CLI, cfg.Dir)
	}
	if (cfg.Bridge == "") != (cfg.BridgeCIDR == "") {
		return nil, fmt.Errorf("dockerd: Bridge %q and BridgeCIDR %q go together", cfg.Bridge, cfg.BridgeCIDR)
	}
	if cfg.Storage == "" {
		cfg.Storage = "overlay2"
	}
	dir := cfg.Dir
	if err := os.MkdirAll(filepath.Join(dir, "cli"), 0o700); err != nil {
		return nil, err
	}
	bridgeArg := "--bridge=none"
	if cfg.Bridge != "" {
		if err := addBridge(ctx, cfg.Bridge, cfg.BridgeCIDR); err != nil {
			return nil, err
		}
		bridgeArg = "--bridge=" + cfg.Bridge
	}
	delBridge := func() {
		if cfg.Bridge != "" {
			_ = runQuiet(context.Background(), "ip", "link", "del", cfg.Bridge)
		}
	}
	conf := filepath.Join(dir, "daemon.json")
	// An empty config keeps the host's /etc/docker/daemon.json out.
	if err := os.WriteFile(conf, []byte("{}"), 0o644); err != nil {
		delBridge()
		return nil, err
	}
	sock := filepath.Join(dir, "docker.sock")
	cmd := exec.Command(cfg.Bin,
		"--config-file", conf,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "x"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"--host", "unix://"+sock,
		bridgeArg,
		"--iptables=false", "--ip-forward=false", "--ip-masq=false",
		"--storage-driver="+cfg.Storage,
		"--log-level=warn",
	)
	c, err := StartChild("dockerd", filepath.Join(dir, "dockerd.log"), cmd)
	if err != nil {
		delBridge()
		return nil, err
	}
	d := &Dockerd{Child: c, Bin: cfg.CLI, Dir: dir, Bridge: cfg.Bridge,
		Env: []string{"DOCKER_HOST=unix://" + sock, "DOCKER_CONFIG=" + filepath.Join(dir, "cli")}}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dialer net.Dialer
		return dialer.DialContext(ctx, "unix", sock)
	}}}
	defer client.CloseIdleConnections()
	err = c.WaitReady(ctx, 60*time.Second, func() error { return GetOK(client, "http://docker/_ping", http.StatusOK) })
	if err != nil {
		d.Stop()
		return nil, err
	}
	return d, nil
}

// addBridge creates and raises a bridge with gateway address cidr.
func addBridge(ctx context.Context, bridge, cidr string) error {
	for _, args := range [][]string{
		{"link", "add", bridge, "type", "bridge"},
		{"addr", "add", cidr, "dev", bridge},
		{"link", "set", bridge, "up"},
	} {
		if err := runQuiet(ctx, "ip", args...); err != nil {
			_ = runQuiet(context.Background(), "ip", "link", "del", bridge)
			return fmt.Errorf("bridge for dockerd: %w", err)
		}
	}
	return nil
}

// Command is a docker CLI command against the private daemon.
func (d *Dockerd) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, d.Bin, args...)
	cmd.Env = append(os.Environ(), d.Env...)
	return cmd
}

// Run runs a docker CLI command and returns its output, or an error with it.
func (d *Dockerd) Run(ctx context.Context, args ...string) (string, error) {
	out, err := d.Command(ctx, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker %s: %v\n%s", strings.Join(args, " "), err, Tail(out, 2000))
	}
	return string(out), nil
}

// RemoveAll force-removes every container of the private daemon.
func (d *Dockerd) RemoveAll(ctx context.Context) error {
	ids, err := d.Run(ctx, "ps", "-aq")
	if err != nil || strings.TrimSpace(ids) == "" {
		return err
	}
	_, err = d.Run(ctx, append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
	return err
}

// Stop removes the containers and the networks they used (a compose
// project's bridge would outlive dockerd), ends dockerd (it stops its own
// containerd), unmounts whatever it left, removes its directory and the
// bridge, if it made one.
func (d *Dockerd) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_ = d.RemoveAll(ctx)
	_, _ = d.Run(ctx, "network", "prune", "-f")
	d.Child.Stop(20 * time.Second)
	for _, m := range MountsUnder(d.Dir) {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
	_ = os.RemoveAll(d.Dir)
	if d.Bridge != "" {
		_ = runQuiet(ctx, "ip", "link", "del", d.Bridge)
	}
}

// MountsUnder lists mount points below dir, deepest first.
func MountsUnder(dir string) []string {
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

// FreeSubnet picks a 10.213.y.0/24 for the docker bridge that no host
// address covers (berth allocates from 10.89.0.0/16 and checks host routes
// too, so the two do not collide once the bridge exists) and returns its
// gateway in CIDR form.
func FreeSubnet() (gatewayCIDR string, err error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	for y := 240; y < 256; y++ {
		cand := &net.IPNet{IP: net.IPv4(10, 213, byte(y), 0).To4(), Mask: net.CIDRMask(24, 32)}
		clash := false
		for _, a := range addrs {
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

// runQuiet runs a setup command; its output only matters when it fails.
func runQuiet(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, Tail(out, 2000))
	}
	return nil
}
