//go:build linux

package main

import (
	"math"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// Where berth's start time goes, read from outside the daemon: the files
// the engine, the supervisor and runc write into a container's directory,
// in order, carry the time each step finished. File times come from the
// kernel's coarse clock (one scheduler tick, 1–4 ms), so each step is only
// that precise; medians over the runs are shown.

// phase is one step: it ends when file (relative to the container's
// directory; "" = the directory itself, by its birth time) was written.
type phase struct {
	Name string
	File string
}

var berthPhases = []phase{
	{"request reaches the engine, image resolved (container directory created)", ""},
	{"rootfs overlay mount + network (a pooled namespace, or netns + CNI ADD) → etc/hosts written", "etc/hosts"},
	{"OCI spec written (config.json)", "config.json"},
	{"supervisor (berth-shim) exec'd and running (shim.json)", "shim.json"},
	{"`runc run --detach` done (init.pid)", "init.pid"},
	{"init recorded (init.json)", "init.json"},
}

// phaseSample is one run's step end times, in ms after the command started.
type phaseSample struct {
	Ends     []float64 `json:"ends_ms"` // per berthPhases; NaN-free: -1 = file missing
	Marker   float64   `json:"marker_ms"`
	Returned float64   `json:"returned_ms"`
}

// phaseBreakdown is one berth method's medians.
type phaseBreakdown struct {
	Method  string        `json:"method"`
	Steps   []phaseStep   `json:"steps"`
	Samples []phaseSample `json:"samples"`
}

type phaseStep struct {
	Name string `json:"name"`
	// EndMs is the median time (after the start) the step ended; StepMs
	// the median of its own duration (end minus the previous step's end).
	EndMs  float64 `json:"end_ms"`
	StepMs float64 `json:"step_ms"`
}

type phaseCollector struct {
	pending string // container directory of the run in flight (API methods)
	samples map[string][]phaseSample
	order   []string
}

func newPhaseCollector() *phaseCollector { return &phaseCollector{samples: map[string][]phaseSample{}} }

// add records one measured run (run < 0 is the warm-up and is skipped).
func (p *phaseCollector) add(method string, run int, dir string, t0, marker, returned time.Time) {
	if run < 0 || dir == "" {
		return
	}
	s := phaseSample{Marker: ms(marker.Sub(t0)), Returned: ms(returned.Sub(t0))}
	for _, ph := range berthPhases {
		at, ok := fileTime(filepath.Join(dir, ph.File), ph.File == "")
		if !ok {
			s.Ends = append(s.Ends, -1)
			continue
		}
		s.Ends = append(s.Ends, ms(at.Sub(t0)))
	}
	if _, seen := p.samples[method]; !seen {
		p.order = append(p.order, method)
	}
	p.samples[method] = append(p.samples[method], s)
}

// fileTime is a file's modification time, or for birth its creation time
// (statx; ext4, xfs, btrfs and tmpfs record it).
func fileTime(path string, birth bool) (time.Time, bool) {
	var st unix.Statx_t
	mask := unix.STATX_MTIME
	if birth {
		mask = unix.STATX_BTIME
	}
	if err := unix.Statx(unix.AT_FDCWD, path, 0, mask, &st); err != nil {
		return time.Time{}, false
	}
	ts := st.Mtime
	if birth {
		if st.Mask&unix.STATX_BTIME == 0 {
			return time.Time{}, false
		}
		ts = st.Btime
	}
	return time.Unix(ts.Sec, int64(ts.Nsec)), true
}

func (p *phaseCollector) breakdowns() []phaseBreakdown {
	var out []phaseBreakdown
	for _, m := range p.order {
		ss := p.samples[m]
		b := phaseBreakdown{Method: m, Samples: ss}
		prev := make([]float64, len(ss)) // previous step's end per sample, from 0
		for i, ph := range berthPhases {
			var ends, steps []float64
			for k, s := range ss {
				if s.Ends[i] < 0 {
					continue
				}
				ends = append(ends, s.Ends[i])
				steps = append(steps, s.Ends[i]-prev[k])
				prev[k] = s.Ends[i]
			}
			b.Steps = append(b.Steps, phaseStep{Name: ph.Name, EndMs: quantile(ends, 0.5), StepMs: quantile(steps, 0.5)})
		}
		var marker, returned, afterStart []float64
		for k, s := range ss {
			marker = append(marker, s.Marker)
			returned = append(returned, s.Returned)
			afterStart = append(afterStart, s.Marker-prev[k])
		}
		b.Steps = append(b.Steps,
			phaseStep{Name: "the process runs (marker created)", EndMs: quantile(marker, 0.5), StepMs: quantile(afterStart, 0.5)},
			phaseStep{Name: "the command / API call returned", EndMs: quantile(returned, 0.5)})
		out = append(out, b)
	}
	return out
}

// quantile is the nearest-rank quantile q (0..1) of vs; 0 for none.
func quantile(vs []float64, q float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	// ceil(q·n), less a hair so 0.9·20 (18.000000000000004) stays 18.
	i := int(math.Ceil(float64(len(s))*q-1e-9)) - 1
	return s[max(0, min(i, len(s)-1))]
}
