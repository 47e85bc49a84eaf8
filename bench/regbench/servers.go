package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

// serverSpec says how to start one registry implementation on an address
// with its storage in a directory.
type serverSpec struct {
	name        string // column name in the report
	description string // one line for the report: binary, version, storage
	// command returns the process to start; dir is an empty directory the
	// server owns for its configuration and storage.
	command func(dir, addr string) (*exec.Cmd, error)
}

// distributionConfig is CNCF distribution's packaged Debian config
// (/etc/docker/registry/config.yml) minus htpasswd auth and the storage
// health check, with the two changes a benchmark needs: warn-level logging
// and no access log, since a line per request would measure the terminal,
// not the registry. A fixed http.secret avoids the random-secret warning.
const distributionConfig = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: regbench-not-a-secret
  headers:
    X-Content-Type-Options: [nosniff]
`

func distributionSpec(bin string) serverSpec {
	return serverSpec{
		name:        "distribution",
		description: fmt.Sprintf("CNCF distribution %s (`%s serve config.yml`, filesystem storage, `cache.blobdescriptor: inmemory`, `delete.enabled: true`, log level warn, access log off)", distributionVersion(bin), bin),
		command: func(dir, addr string) (*exec.Cmd, error) {
			cfg := filepath.Join(dir, "config.yml")
			data := filepath.Join(dir, "data")
			if err := os.WriteFile(cfg, fmt.Appendf(nil, distributionConfig, data, addr), 0o600); err != nil {
				return nil, fmt.Errorf("write distribution config: %w", err)
			}
			return exec.Command(bin, "serve", cfg), nil
		},
	}
}

// berthConfig gives berth the same logging policy as distributionConfig:
// warnings only, no line per request. Everything else is berth's default.
const berthConfig = `log:
  level: warn
  access: false
`

func berthSpec(bin string, extraArgs []string) serverSpec {
	v := strings.TrimPrefix(binaryVersion(bin, "version"), "berth ")
	desc := fmt.Sprintf("berth %s (`berth registry serve --config berth-registry.yaml --root DIR`, default settings except log level warn and access log off", v)
	if len(extraArgs) > 0 {
		desc += ", extra arguments `" + strings.Join(extraArgs, " ") + "`"
	}
	desc += ")"
	return serverSpec{
		name:        "berth",
		description: desc,
		command: func(dir, addr string) (*exec.Cmd, error) {
			cfg := filepath.Join(dir, "berth-registry.yaml")
			if err := os.WriteFile(cfg, []byte(berthConfig), 0o600); err != nil {
				return nil, fmt.Errorf("write berth config: %w", err)
			}
			args := []string{"registry", "serve", "--config", cfg, "--addr", addr, "--root", filepath.Join(dir, "data")}
			return exec.Command(bin, append(args, extraArgs...)...), nil
		},
	}
}

// distributionVersion returns e.g. "github.com/docker/distribution 2.8.2+ds1"
// from `docker-registry --version`, which prints the binary path first.
func distributionVersion(bin string) string {
	v := binaryVersion(bin, "--version")
	if f := strings.Fields(v); len(f) > 1 && strings.HasPrefix(f[0], "/") {
		return strings.Join(f[1:], " ")
	}
	return v
}

// binaryVersion returns the first line a binary prints for its version
// command, or "(version unknown)"; it only labels the report.
func binaryVersion(bin string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if err != nil || line == "" {
		return "(version unknown)"
	}
	return line
}

// runningServer is a started registry process.
type runningServer struct {
	*benchkit.Child
	spec serverSpec
	url  string
}

// startServer starts spec with its files under dir and waits until GET /v2/
// answers 200 or 401.
func startServer(ctx context.Context, spec serverSpec, dir string) (*runningServer, error) {
	addr, err := benchkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	cmd, err := spec.command(dir, addr)
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = benchkit.ChildProcAttr()
	c, err := benchkit.StartChild(spec.name, filepath.Join(dir, spec.name+".log"), cmd)
	if err != nil {
		return nil, err
	}
	s := &runningServer{Child: c, spec: spec, url: "http://" + addr}
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	err = c.WaitReady(ctx, 30*time.Second, func() error {
		return benchkit.GetOK(client, s.url+"/v2/", http.StatusOK, http.StatusUnauthorized)
	})
	if err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// peakRSS returns the server's lifetime peak resident set (VmHWM), in bytes.
func (s *runningServer) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.Pid()))
	if err != nil {
		return 0, fmt.Errorf("%s peak RSS: %w", s.spec.name, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s peak RSS: bad VmHWM %q", s.spec.name, rest)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("%s peak RSS: no VmHWM in /proc/%d/status", s.spec.name, s.Pid())
}

// stop asks the server to exit (SIGTERM), then kills it after a grace
// period. It is safe to call more than once.
func (s *runningServer) stop() { s.Stop(10 * time.Second) }

// errServerDied is returned when a server exits while being benchmarked.
var errServerDied = errors.New("server exited during the benchmark")
