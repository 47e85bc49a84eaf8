//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

// berthDaemon is `berth daemon` with its own root, run directory and
// socket; the CLI reaches it through BERTH_SOCKET. Only the CLI is used, so
// the driver depends on berth's commands, not on its Go API.
type berthDaemon struct {
	*benchkit.Child
	bin, dir, root string
	env            []string
	// hasProxy and hasDeploy say whether this berth has the proxy process
	// and `berth deploy`; without them the published port is CNI's
	// portmap and no release is measured.
	hasProxy, hasDeploy bool
}

func startBerth(ctx context.Context, bin, dir string) (*berthDaemon, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	socket := filepath.Join(dir, "berth.sock")
	b := &berthDaemon{bin: bin, dir: dir, root: filepath.Join(dir, "root"), env: []string{"BERTH_SOCKET=" + socket}}
	b.hasProxy = exec.CommandContext(ctx, bin, "proxy", "--help").Run() == nil
	b.hasDeploy = exec.CommandContext(ctx, bin, "deploy", "--help").Run() == nil
	c, err := benchkit.StartChild("berth daemon", filepath.Join(dir, "daemon.log"),
		exec.Command(bin, "daemon", "--root", b.root, "--run-dir", filepath.Join(dir, "run"), "--socket", socket))
	if err != nil {
		return nil, err
	}
	b.Child = c
	err = c.WaitReady(ctx, 30*time.Second, func() error {
		_, err := b.run(ctx, "ps", "--all-projects")
		return err
	})
	if err != nil {
		b.stop()
		return nil, err
	}
	return b, nil
}

// run runs a berth CLI command against the daemon.
func (b *berthDaemon) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Env = append(os.Environ(), b.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("berth %s: %v\n%s", strings.Join(args, " "), err, benchkit.Tail(out, 3000))
	}
	return string(out), nil
}

// psEntry is what the driver reads of `berth ps --json`.
type psEntry struct {
	Name     string `json:"name"`
	Stack    string `json:"stack"`
	Service  string `json:"service"`
	State    string `json:"state"`
	Health   string `json:"health"`
	IP       string `json:"ip"`
	Revision int    `json:"revision"`
}

func (b *berthDaemon) ps(ctx context.Context, stack string) ([]psEntry, error) {
	args := []string{"ps", "--json"}
	if stack != "" {
		args = append(args, "-p", stack)
	}
	out, err := b.run(ctx, args...)
	if err != nil {
		return nil, err
	}
	var cs []psEntry
	if err := json.Unmarshal([]byte(out), &cs); err != nil {
		return nil, fmt.Errorf("berth ps --json: %w: %s", err, benchkit.Tail([]byte(out), 500))
	}
	return cs, nil
}

// stop takes every stack down (their shims would keep the containers
// running), stops the daemon, then ends whatever still runs from the
// benchmark's directory (the proxy process the daemon started detached,
// a stray shim) and unmounts what is left under it.
func (b *berthDaemon) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if cs, err := b.ps(ctx, ""); err == nil {
		stacks := map[string]bool{}
		for _, c := range cs {
			stacks[c.Stack] = true
		}
		for s := range stacks {
			_, _ = b.run(ctx, "down", "-p", s)
		}
	}
	b.Child.Stop(15 * time.Second)
	killUnder(b.dir)
	for _, m := range benchkit.MountsUnder(b.dir) {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
}

// killUnder ends the processes whose command line names dir: they are the
// benchmark's own (its paths are in a fresh temporary directory). SIGTERM
// first, SIGKILL for those still there after 5 s.
func killUnder(dir string) {
	pids := processesNaming(dir)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(pids) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // no event for another process's exit
		pids = processesNaming(dir)
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

func processesNaming(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		if strings.Contains(string(raw), dir+"/") || strings.Contains(string(raw), dir+"\x00") {
			pids = append(pids, pid)
		}
	}
	return pids
}
