package loadgen

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxErrorSamples bounds the distinct error messages kept: enough to tell
// "connection refused" from "reset by peer" in a failing test, without
// growing with a long outage.
const maxErrorSamples = 8

// Stats are a run's live counters. The counts are atomics, safe to read at
// any time; the per-version, per-host and per-status maps and the error
// samples are behind a mutex and read through Snapshot.
type Stats struct {
	Requests   atomic.Int64 // finished requests, whatever their outcome
	OK         atomic.Int64 // 2xx responses
	Non2xx     atomic.Int64 // responses with any other status
	ConnErrors atomic.Int64 // no (complete) response: refused, reset, timed out, truncated
	maxLatency atomic.Int64 // nanoseconds

	start time.Time

	mu       sync.Mutex
	end      time.Time
	versions map[string]int64
	hosts    map[string]int64
	statuses map[int]int64 // non-2xx statuses
	errors   map[string]int64
}

func newStats() *Stats {
	return &Stats{start: time.Now(), versions: map[string]int64{}, hosts: map[string]int64{},
		statuses: map[int]int64{}, errors: map[string]int64{}}
}

func (s *Stats) record(r result) {
	for {
		old := s.maxLatency.Load()
		if int64(r.latency) <= old || s.maxLatency.CompareAndSwap(old, int64(r.latency)) {
			break
		}
	}
	s.mu.Lock()
	switch {
	case r.err != nil:
		msg := r.err.Error()
		if _, ok := s.errors[msg]; ok || len(s.errors) < maxErrorSamples {
			s.errors[msg]++
		}
	case r.status < 200 || r.status > 299:
		s.statuses[r.status]++
	default:
		if r.version != "" {
			s.versions[r.version]++
		}
		if r.host != "" {
			s.hosts[r.host]++
		}
	}
	s.mu.Unlock()
	// Counted after the maps so that a Snapshot's maps never hold fewer
	// entries than its counts say (tests poll on the counts).
	switch {
	case r.err != nil:
		s.ConnErrors.Add(1)
	case r.status < 200 || r.status > 299:
		s.Non2xx.Add(1)
	default:
		s.OK.Add(1)
	}
	s.Requests.Add(1)
}

func (s *Stats) finish() {
	s.mu.Lock()
	if s.end.IsZero() {
		s.end = time.Now()
	}
	s.mu.Unlock()
}

// Snapshot is a consistent copy of the counters.
type Snapshot struct {
	Requests   int64            `json:"requests"`
	OK         int64            `json:"ok"`
	Non2xx     int64            `json:"non2xx"`
	ConnErrors int64            `json:"connErrors"`
	Versions   map[string]int64 `json:"versions,omitempty"` // 2xx responses by their JSON "version"
	Hosts      map[string]int64 `json:"hosts,omitempty"`    // 2xx responses by their JSON "host"
	Statuses   map[int]int64    `json:"statuses,omitempty"` // non-2xx responses by status
	// Errors are up to 8 distinct connection error messages with their
	// counts (later new messages are not kept; ConnErrors counts all).
	Errors     map[string]int64 `json:"errors,omitempty"`
	Elapsed    time.Duration    `json:"elapsed"`
	MaxLatency time.Duration    `json:"maxLatency"`
}

// Snapshot copies the counters; while the run goes on, the maps may already
// hold a request the counts do not include yet, never the other way round.
func (s *Stats) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	end := s.end
	if end.IsZero() {
		end = time.Now()
	}
	return Snapshot{
		Requests: s.Requests.Load(), OK: s.OK.Load(), Non2xx: s.Non2xx.Load(), ConnErrors: s.ConnErrors.Load(),
		Versions: maps.Clone(s.versions), Hosts: maps.Clone(s.hosts), Statuses: maps.Clone(s.statuses), Errors: maps.Clone(s.errors),
		Elapsed: end.Sub(s.start), MaxLatency: time.Duration(s.maxLatency.Load()),
	}
}

// Failed is the number of requests that did not get a 2xx response.
func (s Snapshot) Failed() int64 { return s.Non2xx + s.ConnErrors }

// Sub is what happened between earlier and s, two snapshots of one run: a
// window's counts, e.g. around one release. MaxLatency stays s's (the
// longest request of the run so far); error messages first seen before
// earlier but seen again since keep the count since.
func (s Snapshot) Sub(earlier Snapshot) Snapshot {
	return Snapshot{
		Requests: s.Requests - earlier.Requests, OK: s.OK - earlier.OK, Non2xx: s.Non2xx - earlier.Non2xx,
		ConnErrors: s.ConnErrors - earlier.ConnErrors,
		Versions:   subCounts(s.Versions, earlier.Versions), Hosts: subCounts(s.Hosts, earlier.Hosts),
		Statuses: subCounts(s.Statuses, earlier.Statuses), Errors: subCounts(s.Errors, earlier.Errors),
		Elapsed: s.Elapsed - earlier.Elapsed, MaxLatency: s.MaxLatency,
	}
}

// subCounts is m - earlier, without the keys that did not change.
func subCounts[K comparable](m, earlier map[K]int64) map[K]int64 {
	var d map[K]int64
	for k, n := range m {
		if n -= earlier[k]; n != 0 {
			if d == nil {
				d = map[K]int64{}
			}
			d[k] = n
		}
	}
	return d
}

// Failures lists the failed requests by what went wrong, e.g.
// "statuses 502=57; errors: [3x read response: EOF]"; "" when none failed.
func (s Snapshot) Failures() string {
	var b strings.Builder
	if len(s.Statuses) > 0 {
		b.WriteString("statuses")
		for _, k := range slices.Sorted(maps.Keys(s.Statuses)) {
			fmt.Fprintf(&b, " %d=%d", k, s.Statuses[k])
		}
	}
	if len(s.Errors) > 0 {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString("errors:")
		for _, k := range slices.Sorted(maps.Keys(s.Errors)) {
			fmt.Fprintf(&b, " [%dx %s]", s.Errors[k], k)
		}
	}
	return b.String()
}

// RPS is the mean rate of finished requests.
func (s Snapshot) RPS() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Elapsed.Seconds()
}

// String is a one-line summary, e.g.
// "1200 requests in 5.0s (240/s): 1198 ok, 0 non-2xx, 2 conn errors; max 80ms; versions 1.0.0=600 2.0.0=598; errors: ...".
func (s Snapshot) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests in %s (%.0f/s): %d ok, %d non-2xx, %d conn errors; max %s",
		s.Requests, s.Elapsed.Round(100*time.Millisecond), s.RPS(), s.OK, s.Non2xx, s.ConnErrors, s.MaxLatency.Round(time.Millisecond))
	if len(s.Versions) > 0 {
		b.WriteString("; versions")
		writeCounts(&b, s.Versions)
	}
	if len(s.Hosts) > 0 {
		b.WriteString("; hosts")
		writeCounts(&b, s.Hosts)
	}
	if f := s.Failures(); f != "" {
		b.WriteString("; " + f)
	}
	return b.String()
}

func writeCounts(b *strings.Builder, m map[string]int64) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(b, " %s=%d", k, m[k])
	}
}
