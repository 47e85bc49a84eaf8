package main

import (
	"errors"

	"github.com/berth-dev/berth/bench/internal/benchkit"
	"github.com/berth-dev/berth/test/fixtures"

	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
	if dir == "" {
		return errors.New("-aptrepo: no default (no user cache directory, no BERTH_TEST_APTREPO): give the directory")
	}
	if fixtures.AptRepoComplete(dir) {
		return nil
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "aptrepo.sh"), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("scripts/aptrepo.sh %s: %v\n%s", dir, err, benchkit.Tail(out, 3000))
	}
	return nil
}

// registryConfig keeps berth's registry quiet (as in bench/regbench): a log
// line per request would cost every tool's push alike, but for nothing.
const registryConfig = `log:
  level: warn
  access: false
`

// startRegistry runs `berth registry serve` with its storage under dir.
func startRegistry(ctx context.Context, berthBin, dir string) (*benchkit.Child, string, error) {
	addr, err := benchkit.FreeAddr()
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
	cmd := exec.Command(berthBin, "registry", "serve", "--config", cfg, "--addr", addr, "--root", filepath.Join(dir, "data"))
	cmd.SysProcAttr = benchkit.ChildProcAttr()
	c, err := benchkit.StartChild("registry", filepath.Join(dir, "registry.log"), cmd)
	if err != nil {
		return nil, "", err
	}
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	err = c.WaitReady(ctx, 30*time.Second, func() error { return benchkit.GetOK(client, "http://"+addr+"/v2/", http.StatusOK) })
	if err != nil {
		c.Stop(10 * time.Second)
		return nil, "", err
	}
	return c, addr, nil
}

// startDockerd starts a private dockerd (see benchkit.Dockerd) with
// everything under dir and no default bridge: builds need no container
// network.
func startDockerd(ctx context.Context, bin, cli, storage, dir string) (*benchkit.Dockerd, error) {
	return benchkit.StartDockerdWith(ctx, benchkit.DockerdConfig{Bin: bin, CLI: cli, Dir: dir, Storage: storage})
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
