package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Stats is a snapshot of a container's cgroup counters.
type Stats struct {
	CPUUsageNanos uint64 // total CPU time consumed
	MemoryUsage   uint64 // bytes charged, including page cache
	MemoryCache   uint64 // inactive file cache (docker stats subtracts it)
	MemoryLimit   uint64 // 0 when unlimited
	PidsCurrent   uint64
	PidsLimit     uint64 // 0 when unlimited
	OOMKills      uint64 // processes killed by the OOM killer in this cgroup
}

const cgroupRoot = "/sys/fs/cgroup"

// unlimited v1 memory limits are reported as a huge page-aligned number.
const v1Unlimited = uint64(1) << 62

func isCgroup2() bool {
	_, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers"))
	return err == nil
}

// ReadStats reads the counters of the cgroup at cgroupsPath (as in the
// spec's linux.cgroupsPath, e.g. "/berth/<id>") on cgroup v1 or v2. Reading
// the files directly costs a few syscalls, where "runc events --stats"
// would cost a process per sample.
func ReadStats(cgroupsPath string) (Stats, error) {
	if isCgroup2() {
		return readStatsV2(filepath.Join(cgroupRoot, cgroupsPath))
	}
	return readStatsV1(cgroupsPath)
}

func readStatsV1(cg string) (Stats, error) {
	var s Stats
	var err error
	mem := filepath.Join(cgroupRoot, "memory", cg)
	if _, err := os.Stat(mem); err != nil {
		return s, fmt.Errorf("cgroup %s: %w", cg, err)
	}
	if s.CPUUsageNanos, err = readUint(filepath.Join(cgroupRoot, "cpuacct", cg, "cpuacct.usage")); err != nil {
		return s, err
	}
	if s.MemoryUsage, err = readUint(filepath.Join(mem, "memory.usage_in_bytes")); err != nil {
		return s, err
	}
	if s.MemoryLimit, err = readUint(filepath.Join(mem, "memory.limit_in_bytes")); err != nil {
		return s, err
	}
	if s.MemoryLimit >= v1Unlimited {
		s.MemoryLimit = 0
	}
	stat, err := readKeyed(filepath.Join(mem, "memory.stat"))
	if err != nil {
		return s, err
	}
	s.MemoryCache = stat["total_inactive_file"]
	oom, err := readKeyed(filepath.Join(mem, "memory.oom_control"))
	if err != nil {
		return s, err
	}
	s.OOMKills = oom["oom_kill"]
	pids := filepath.Join(cgroupRoot, "pids", cg)
	if s.PidsCurrent, err = readUint(filepath.Join(pids, "pids.current")); err != nil {
		return s, err
	}
	if s.PidsLimit, err = readUint(filepath.Join(pids, "pids.max")); err != nil {
		return s, err
	}
	return s, nil
}

func readStatsV2(dir string) (Stats, error) {
	var s Stats
	var err error
	if _, err := os.Stat(dir); err != nil {
		return s, fmt.Errorf("cgroup: %w", err)
	}
	cpu, err := readKeyed(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return s, err
	}
	s.CPUUsageNanos = cpu["usage_usec"] * 1000
	if s.MemoryUsage, err = readUint(filepath.Join(dir, "memory.current")); err != nil {
		return s, err
	}
	if s.MemoryLimit, err = readUint(filepath.Join(dir, "memory.max")); err != nil {
		return s, err
	}
	stat, err := readKeyed(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return s, err
	}
	s.MemoryCache = stat["inactive_file"]
	events, err := readKeyed(filepath.Join(dir, "memory.events"))
	if err != nil {
		return s, err
	}
	s.OOMKills = events["oom_kill"]
	if s.PidsCurrent, err = readUint(filepath.Join(dir, "pids.current")); err != nil {
		return s, err
	}
	if s.PidsLimit, err = readUint(filepath.Join(dir, "pids.max")); err != nil {
		return s, err
	}
	return s, nil
}

// readUint reads a single-number cgroup file; "max" (no limit) reads as 0.
func readUint(name string) (uint64, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, err
	}
	t := strings.TrimSpace(string(b))
	if t == "max" {
		return 0, nil
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", name, t)
	}
	return n, nil
}

// readKeyed reads a "key value" per line cgroup file.
func readKeyed(name string) (map[string]uint64, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// oomKills reads only the OOM-kill counter, for the supervisor's exit
// record; a missing cgroup reads as 0 with an error.
func oomKills(cgroupsPath string) (uint64, error) {
	var name, key string
	if isCgroup2() {
		name, key = filepath.Join(cgroupRoot, cgroupsPath, "memory.events"), "oom_kill"
	} else {
		name, key = filepath.Join(cgroupRoot, "memory", cgroupsPath, "memory.oom_control"), "oom_kill"
	}
	m, err := readKeyed(name)
	if err != nil {
		return 0, err
	}
	v, ok := m[key]
	if !ok {
		return 0, errors.New(name + ": no " + key + " counter")
	}
	return v, nil
}
