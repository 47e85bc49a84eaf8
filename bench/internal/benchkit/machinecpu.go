package benchkit

import (
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// CPUSample is the machine's cumulative CPU time from /proc/stat, in ticks.
type CPUSample struct{ busy, total uint64 }

// MachineCPU reads the machine's CPU time so far; zero where /proc/stat
// cannot be read.
func MachineCPU() CPUSample {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CPUSample{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var s CPUSample
	for i, v := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		s.total += n
		if i != 3 && i != 4 { // idle, iowait
			s.busy += n
		}
	}
	return s
}

// BusySince is the machine's CPU use since prev, in percent of one CPU.
func (s CPUSample) BusySince(prev CPUSample) float64 {
	if s.total <= prev.total {
		return 0
	}
	return 100 * float64(max(1, runtime.NumCPU())) * float64(s.busy-prev.busy) / float64(s.total-prev.total)
}

// CopyFile copies src to dst (created or truncated with mode).
func CopyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
