//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/model"
)

// memoryResult is one engine's memory with N containers running (and idle).
// RSS counts shared pages (the same binary's text in 50 supervisors) once
// per process; PSS splits them among the processes that share them, so the
// PSS sum is what the processes together really occupy.
type memoryResult struct {
	Tool       string  `json:"tool"`
	Containers int     `json:"containers"`
	StartSecs  float64 `json:"start_seconds"` // starting the N containers
	// The daemon(s): berth daemon / dockerd + containerd.
	DaemonNames   string `json:"daemon_processes"`
	IdleDaemonRSS int64  `json:"idle_daemon_rss_kib"` // before any container
	DaemonRSS     int64  `json:"daemon_rss_kib"`
	DaemonPSS     int64  `json:"daemon_pss_kib"`
	// The per-container supervisors: berth shim / containerd-shim-runc-v2.
	SupervisorName string `json:"supervisor_process"`
	Supervisors    int    `json:"supervisors"`
	SupervisorRSS  int64  `json:"supervisors_rss_kib"`
	SupervisorPSS  int64  `json:"supervisors_pss_kib"`
}

func (m memoryResult) TotalRSS() int64 { return m.DaemonRSS + m.SupervisorRSS }
func (m memoryResult) TotalPSS() int64 { return m.DaemonPSS + m.SupervisorPSS }

type procMem struct{ rss, pss int64 }

// readMem reads a process's RSS and PSS in KiB (smaps_rollup).
func readMem(pid int) (procMem, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return procMem{}, err
	}
	var m procMem
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "Rss:":
			m.rss = v
		case "Pss:":
			m.pss = v
		}
	}
	return m, nil
}

type procInfo struct {
	pid, ppid int
	args      []string
}

// processes lists every process with its parent and command line.
func processes() []procInfo {
	ents, _ := os.ReadDir("/proc")
	var out []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command's closing parenthesis: state, ppid, ...
		rest := stat[bytes.LastIndexByte(stat, ')')+1:]
		f := strings.Fields(string(rest))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		out = append(out, procInfo{pid: pid, ppid: ppid, args: args})
	}
	return out
}

func sumMem(pids []int) (rss, pss int64, err error) {
	for _, pid := range pids {
		m, err := readMem(pid)
		if err != nil {
			return 0, 0, fmt.Errorf("memory of pid %d: %w", pid, err)
		}
		rss += m.rss
		pss += m.pss
	}
	return rss, pss, nil
}

// berthProcesses: the daemon and its `berth proxy` (published ports and
// the stacks' DNS servers; found by its socket under the run dir), and the
// supervisor (berth-shim, or `berth shim` without it) of each container
// (the shims are detached, so they are found by their --bundle under the
// daemon's root).
func berthProcesses(b *berthDaemon) (daemons, shims []int) {
	daemons = []int{b.Pid()}
	prefix := filepath.Join(b.root, "containers") + "/"
	proxySock := "--socket " + filepath.Join(b.runDir, "proxy.sock")
	for _, p := range processes() {
		line := strings.Join(p.args, " ")
		isShim := len(p.args) > 1 && p.args[1] == "shim" || len(p.args) > 0 && filepath.Base(p.args[0]) == "berth-shim"
		switch {
		case isShim && strings.Contains(line, "--bundle "+prefix):
			shims = append(shims, p.pid)
		case len(p.args) > 1 && p.args[1] == "proxy" && strings.Contains(line, proxySock):
			daemons = append(daemons, p.pid)
		}
	}
	return daemons, shims
}

// supervisorName is what the daemon of berthBin runs per container: the
// dedicated berth-shim when it sits next to berth (where the daemon looks
// first), else `berth shim`.
func supervisorName(berthBin string) string {
	if _, err := os.Stat(filepath.Join(filepath.Dir(berthBin), "berth-shim")); err == nil {
		return "berth-shim"
	}
	return "berth shim"
}

// dockerProcesses: dockerd, its containerd, and the containerd shims that
// serve this dockerd's containerd (found by its socket under exec-root).
func dockerProcesses(d *dockerDaemon) (daemons, shims []int) {
	daemons = []int{d.Pid()}
	sock := filepath.Join(d.Dir, "x")
	for _, p := range processes() {
		line := strings.Join(p.args, " ")
		switch {
		case p.ppid == d.Pid() && strings.HasSuffix(p.args[0], "containerd"):
			daemons = append(daemons, p.pid)
		case strings.Contains(p.args[0], "containerd-shim") && strings.Contains(line, sock):
			shims = append(shims, p.pid)
		}
	}
	return daemons, shims
}

func measureBerthMemory(ctx context.Context, b *berthDaemon, ref, markerDir string, n int) (memoryResult, error) {
	const stack = "eb-mem"
	r := memoryResult{Tool: "berth", Containers: n, DaemonNames: "berth daemon + berth proxy", SupervisorName: "berth shim"}
	if len(b.mustContainers(ctx)) != 0 {
		return r, fmt.Errorf("berth daemon still runs containers before the memory measurement")
	}
	daemons, _ := berthProcesses(b)
	if len(daemons) != 2 {
		return r, fmt.Errorf("berth: found %d of berth daemon + berth proxy", len(daemons))
	}
	idle, _, err := sumMem(daemons)
	if err != nil {
		return r, err
	}
	r.IdleDaemonRSS = idle
	svc := benchService(ref, markerDir, n)
	t0 := time.Now()
	_, err = b.up(ctx, model.StackSpec{Name: stack, Services: []model.ServiceSpec{svc}})
	r.StartSecs = time.Since(t0).Seconds()
	defer b.down(context.WithoutCancel(ctx), stack) //nolint:errcheck // best effort; the run's end checks again
	if err != nil {
		return r, fmt.Errorf("berth: start %d containers: %w", n, err)
	}
	daemon, shims := berthProcesses(b)
	if len(shims) != n {
		return r, fmt.Errorf("berth: %d containers started but %d supervisor processes (berth-shim / `berth shim`) found", n, len(shims))
	}
	r.Supervisors = len(shims)
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", shims[0])); err == nil && filepath.Base(exe) == "berth-shim" {
		r.SupervisorName = "berth-shim"
	}
	if r.DaemonRSS, r.DaemonPSS, err = sumMem(daemon); err != nil {
		return r, err
	}
	r.SupervisorRSS, r.SupervisorPSS, err = sumMem(shims)
	return r, err
}

func (b *berthDaemon) mustContainers(ctx context.Context) []engine.Container {
	cs, _ := b.containers(ctx, "")
	return cs
}

func measureDockerMemory(ctx context.Context, d *dockerDaemon, ref, markerDir string, n int) (memoryResult, error) {
	r := memoryResult{Tool: "docker", Containers: n, DaemonNames: "dockerd + containerd", SupervisorName: "containerd-shim-runc-v2"}
	daemons, _ := dockerProcesses(d)
	if len(daemons) != 2 {
		return r, fmt.Errorf("docker: found %d of dockerd + containerd", len(daemons))
	}
	idle, _, err := sumMem(daemons)
	if err != nil {
		return r, err
	}
	r.IdleDaemonRSS = idle
	t0 := time.Now()
	defer d.RemoveAll(context.WithoutCancel(ctx)) //nolint:errcheck // best effort; stop removes the rest
	for i := 1; i <= n; i++ {
		args := append([]string{"run", "-d", "--name", fmt.Sprintf("eb-mem-%d", i), "-v", markerDir + ":/m", ref}, markerCommand("ready")...)
		if _, err := d.Run(ctx, args...); err != nil {
			return r, err
		}
	}
	r.StartSecs = time.Since(t0).Seconds()
	daemons, shims := dockerProcesses(d)
	if len(shims) != n {
		return r, fmt.Errorf("docker: %d containers started but %d containerd shims found", n, len(shims))
	}
	r.Supervisors = len(shims)
	if r.DaemonRSS, r.DaemonPSS, err = sumMem(daemons); err != nil {
		return r, err
	}
	r.SupervisorRSS, r.SupervisorPSS, err = sumMem(shims)
	return r, err
}
