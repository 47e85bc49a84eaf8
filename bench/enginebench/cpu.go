//go:build linux

package main

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuSample is the machine's cumulative CPU time from /proc/stat, in ticks.
type cpuSample struct{ busy, total uint64 }

func machineCPU() cpuSample {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var s cpuSample
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		s.total += n
		if i != 3 && i != 4 { // idle, iowait
			s.busy += n
		}
	}
	return s
}

// busySince is the machine's CPU use since s, in percent of one CPU.
func (s cpuSample) busySince(prev cpuSample) float64 {
	if s.total <= prev.total {
		return 0
	}
	cpus := float64(max(1, numCPU()))
	return 100 * cpus * float64(s.busy-prev.busy) / float64(s.total-prev.total)
}

// backgroundCPU measures what the machine is busy with before the
// benchmark does anything (other processes): a noise indicator.
func backgroundCPU(d time.Duration) float64 {
	a := machineCPU()
	time.Sleep(d) // a measurement interval, not synchronisation
	return machineCPU().busySince(a)
}
