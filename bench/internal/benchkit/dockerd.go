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

// Dockerd is a private dockerd (as in bench/buildbench and
// bench/enginebench): its own data root, exec root and socket, no iptables;
// its default bridge is one the benchmark creates (and deletes), so the
// host's docker setup, if any, is neither used nor changed.
type Dockerd struct {
	*Child
	Bin    string // the docker CLI
	Dir    string
	Bridge string
	Env    []string // DOCKER_HOST and an isolated DOCKER_CONFIG for the CLI
}

// StartDockerd creates bridge with bridgeCIDR (its gateway address, e.g.
// 10.213.240.1/24), starts bin (dockerd) with everything under dir and waits
// until it answers /_ping. cli is the docker CLI later commands use.
func StartDockerd(ctx context.Context, bin, cli, dir, bridge, bridgeCIDR string) (*Dockerd, error) {
	if err := os.MkdirAll(filepath.Join(dir, "cli"), 0o700); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"link", "add", bridge, "type", "bridge"},
		{"addr", "add", bridgeCIDR, "dev", bridge},
		{"link", "set", bridge, "up"},
	} {
		if err := runQuiet(ctx, "ip", args...); err != nil {
			_ = runQuiet(context.Background(), "ip", "link", "del", bridge)
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
	c, err := StartChild("dockerd", filepath.Join(dir, "dockerd.log"), cmd)
	if err != nil {
		_ = runQuiet(context.Background(), "ip", "link", "del", bridge)
		return nil, err
	}
	d := &Dockerd{Child: c, Bin: cli, Dir: dir, Bridge: bridge,
		Env: []string{"DOCKER_HOST=unix://" + sock, "DOCKER_CONFIG=" + filepath.Join(dir, "cli")}}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dialer net.Dialer
		return dialer.DialContext(ctx, "unix", sock)
	}}}
	defer client.CloseIdleConnections()
	err = c.WaitReady(ctx, 60*time.Second, func() error {
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
		d.Stop()
		return nil, err
	}
	return d, nil
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
// bridge.
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
	_ = runQuiet(ctx, "ip", "link", "del", d.Bridge)
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
