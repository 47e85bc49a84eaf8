package engine

import (
	"context"
	"errors"
	"net/http"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/engine/api"
)

// ContainerStats is one container's line of berth stats.
type ContainerStats struct {
	Name          string  `json:"name"`
	Stack         string  `json:"stack"`
	Service       string  `json:"service"`
	CPUPercent    float64 `json:"cpuPercent"` // of one core: 2 busy cores read 200, as in docker stats
	MemoryBytes   uint64  `json:"memoryBytes"`
	MemoryLimit   uint64  `json:"memoryLimit"` // the host's memory when the container has no limit
	MemoryPercent float64 `json:"memoryPercent"`
	Pids          uint64  `json:"pids"`
	NetRx         uint64  `json:"netRx"` // bytes received, all interfaces but lo
	NetTx         uint64  `json:"netTx"`
}

// StatsSample is one line of GET /v1/stats: every running container at
// one moment.
type StatsSample struct {
	Time       time.Time        `json:"time"`
	Containers []ContainerStats `json:"containers"`
}

// statsInterval is the time between samples (and, for a single sample,
// between the two readings its CPU percentage is computed from).
var statsInterval = time.Second

// cpuReading is a container's cumulative CPU time at a moment.
type cpuReading struct {
	at    time.Time
	nanos uint64
}

// statsSampler turns cumulative counters into a sample: CPU percentages
// need the previous reading of each container.
type statsSampler struct {
	hostMemory uint64
	prev       map[string]cpuReading // by container ID
}

func newStatsSampler() *statsSampler {
	s := &statsSampler{prev: map[string]cpuReading{}}
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) == nil {
		s.hostMemory = uint64(si.Totalram) * uint64(si.Unit)
	}
	return s
}

// sample reads every container with read and computes its line. Containers
// that cannot be read (they exited between the listing and the reading)
// are left out; a container's first reading has a CPU percentage of 0.
func (s *statsSampler) sample(now time.Time, cs []Container, read func(id string) (Stats, error)) StatsSample {
	out := StatsSample{Time: now, Containers: []ContainerStats{}}
	seen := map[string]bool{}
	for _, c := range cs {
		st, err := read(c.ID)
		if err != nil {
			continue
		}
		seen[c.ID] = true
		line := ContainerStats{Name: c.Name, Stack: c.Stack, Service: c.Service,
			MemoryBytes: st.MemoryBytes, MemoryLimit: st.MemoryLimit, Pids: st.Pids, NetRx: st.NetRxBytes, NetTx: st.NetTxBytes}
		if line.MemoryLimit == 0 || (s.hostMemory > 0 && line.MemoryLimit > s.hostMemory) {
			line.MemoryLimit = s.hostMemory
		}
		if line.MemoryLimit > 0 {
			line.MemoryPercent = float64(line.MemoryBytes) / float64(line.MemoryLimit) * 100
		}
		line.CPUPercent = cpuPercent(s.prev[c.ID], cpuReading{at: now, nanos: st.CPUNanos})
		s.prev[c.ID] = cpuReading{at: now, nanos: st.CPUNanos}
		out.Containers = append(out.Containers, line)
	}
	for id := range s.prev {
		if !seen[id] {
			delete(s.prev, id)
		}
	}
	return out
}

// cpuPercent is the CPU time used between two readings over the wall time
// between them. A counter that went backwards (the container was
// recreated under the same cgroup) or a missing earlier reading give 0.
func cpuPercent(prev, cur cpuReading) float64 {
	wall := cur.at.Sub(prev.at)
	if prev.at.IsZero() || wall <= 0 || cur.nanos < prev.nanos {
		return 0
	}
	return float64(cur.nanos-prev.nanos) / float64(wall.Nanoseconds()) * 100
}

// running lists the running containers of a stack ("" = all), of one of
// its services unless service is "".
func (e *Engine) running(stack, service string) []Container {
	var out []Container
	for _, c := range e.Containers(stack) {
		if c.State == StateRunning && (service == "" || c.Service == service) {
			out = append(out, c)
		}
	}
	return out
}

// ServeStats (api.GetStats) streams a StatsSample per statsInterval as ndjson
// (stream=1), or sends one sample, computed over one interval, and ends.
func (e *Engine) ServeStats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	stack, stream := q.Get("stack"), q.Get("stream") == "1"
	ew := api.NewEventWriter(w)
	_ = e.SampleStats(r.Context(), stack, "", func(s StatsSample) error {
		if err := ew.Send(s); err != nil {
			return err
		}
		if !stream {
			return errStatsDone
		}
		return nil
	})
}

var errStatsDone = errors.New("one sample sent")

// SampleStats calls fn with a StatsSample of the running containers of
// stack ("" = all) — of its service, unless service is "" — per
// statsInterval, until ctx ends or fn fails (its error is returned,
// except when ctx ended first). The first sample's CPU percentages are
// over the interval before it. Only the containers sampled are read: the
// console's sparklines of one service cost that service's replicas, not
// the stack's.
func (e *Engine) SampleStats(ctx context.Context, stack, service string, fn func(StatsSample) error) error {
	s := newStatsSampler()
	// The baseline reading.
	s.sample(time.Now(), e.running(stack, service), e.rt.Stats)
	t := time.NewTicker(statsInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := fn(s.sample(time.Now(), e.running(stack, service), e.rt.Stats)); err != nil {
				return err
			}
		}
	}
}
