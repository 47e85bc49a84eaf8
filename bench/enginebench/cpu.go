//go:build linux

package main

import (
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

// backgroundCPU measures what the machine is busy with before the
// benchmark does anything (other processes): a noise indicator.
func backgroundCPU(d time.Duration) float64 {
	a := benchkit.MachineCPU()
	time.Sleep(d) // a measurement interval, not synchronisation
	return benchkit.MachineCPU().BusySince(a)
}
