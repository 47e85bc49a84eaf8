package main

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// maxErrorsPerPhase ends a phase early: once a server fails this often the
// numbers mean nothing and spinning on a dead port only wastes the run.
const maxErrorsPerPhase = 1000

// maxErrorSamples bounds how many distinct error messages a result keeps.
const maxErrorSamples = 5

// worker is the per-goroutine state an operation may use; nothing in it is
// shared, so operations need no locking.
type worker struct {
	id  int
	seq uint64 // operations started by this worker, for round-robin choices
	buf []byte // read buffer for blob bodies
}

// scenario is one timed workload: op runs one request (or request sequence)
// and bytesPerOp is the payload it moves, 0 when MB/s does not apply.
type scenario struct {
	name       string
	bytesPerOp int64
	op         func(ctx context.Context, w *worker) error
}

// phaseStats is what one run of a scenario's op loop measured.
type phaseStats struct {
	elapsed      time.Duration
	latencies    []time.Duration // successful operations only
	errors       int64
	errorSamples []string
}

// runPhase runs op on concurrency workers until d has passed. Workers only
// check the deadline between operations, so in-flight requests finish and
// are counted; elapsed covers them.
func runPhase(ctx context.Context, sc scenario, concurrency int, d time.Duration) phaseStats {
	type workerStats struct {
		lat     []time.Duration
		errs    int64
		samples []string
	}
	stats := make([]workerStats, concurrency)
	var totalErrs atomic.Int64
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for i := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{id: i, buf: make([]byte, 256<<10)}
			ws := &stats[i]
			ws.lat = make([]time.Duration, 0, 4096)
			for ctx.Err() == nil && time.Now().Before(end) && totalErrs.Load() < maxErrorsPerPhase {
				t0 := time.Now()
				err := sc.op(ctx, w)
				lat := time.Since(t0)
				w.seq++
				if err != nil {
					if ctx.Err() != nil && errors.Is(err, context.Canceled) {
						return // interrupted by the user, not a server failure
					}
					ws.errs++
					totalErrs.Add(1)
					if len(ws.samples) < maxErrorSamples {
						ws.samples = append(ws.samples, err.Error())
					}
					continue
				}
				ws.lat = append(ws.lat, lat)
			}
		}()
	}
	wg.Wait()
	ps := phaseStats{elapsed: time.Since(start)}
	for _, ws := range stats {
		ps.latencies = append(ps.latencies, ws.lat...)
		ps.errors += ws.errs
		for _, s := range ws.samples {
			if len(ps.errorSamples) < maxErrorSamples && !slices.Contains(ps.errorSamples, s) {
				ps.errorSamples = append(ps.errorSamples, s)
			}
		}
	}
	slices.Sort(ps.latencies)
	return ps
}

// percentile returns the nearest-rank percentile p (0–100) of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func mean(values []time.Duration) time.Duration {
	if len(values) == 0 {
		return 0
	}
	var sum time.Duration
	for _, v := range values {
		sum += v
	}
	return sum / time.Duration(len(values))
}
