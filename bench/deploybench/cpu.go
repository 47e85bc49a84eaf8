//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CPU time of the proxy under test (berth's proxy process, nginx's master
// and workers) during a wrk run: how much of the 2 shared CPUs each proxy
// needs per request, which the req/s alone hide on a machine where wrk and
// the backend compete for the same CPUs.

// userHZ is the unit of utime and stime in /proc/PID/stat: USER_HZ, 100 on
// every Linux architecture berth runs on.
const userHZ = 100

// cpuSeconds sums user and system CPU time of pids; processes that have
// gone count as 0.
func cpuSeconds(pids []int) float64 {
	var ticks int64
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		if t, ok := statTicks(string(raw)); ok {
			ticks += t
		}
	}
	return float64(ticks) / userHZ
}

// statTicks reads utime + stime (fields 14 and 15) from a /proc/PID/stat
// line; the command name (field 2) may contain spaces, so fields are
// counted after its closing parenthesis.
func statTicks(stat string) (int64, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	return u + s, err1 == nil && err2 == nil
}

// processTree is root and its descendants (nginx's master and workers).
func processTree(root int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if i := strings.LastIndexByte(string(raw), ')'); i >= 0 {
			if f := strings.Fields(string(raw)[i+1:]); len(f) > 1 {
				if ppid, err := strconv.Atoi(f[1]); err == nil {
					children[ppid] = append(children[ppid], pid)
				}
			}
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// berthProxyPids finds the `berth proxy` process the daemon under dir
// started (detached, so not the driver's child).
func berthProxyPids(dir string) []int {
	var out []int
	for _, pid := range processesNaming(dir) {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		if args := strings.Split(string(raw), "\x00"); len(args) > 1 && args[1] == "proxy" {
			out = append(out, pid)
		}
	}
	return out
}
