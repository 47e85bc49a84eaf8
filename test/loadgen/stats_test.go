package loadgen

import (
	"errors"
	"testing"
	"time"
)

func TestSubAndFailures(t *testing.T) {
	s := newStats()
	s.record(result{status: 200, version: "1.0.0", host: "a", latency: 30 * time.Millisecond})
	s.record(result{err: errors.New("read response: EOF")})
	before := s.Snapshot()
	s.record(result{status: 200, version: "2.0.0", host: "b", latency: time.Millisecond})
	s.record(result{status: 502})
	s.record(result{err: errors.New("read response: EOF")})
	d := s.Snapshot().Sub(before)
	if d.Requests != 3 || d.OK != 1 || d.Non2xx != 1 || d.ConnErrors != 1 || d.Failed() != 2 {
		t.Fatalf("delta counts: %s", d)
	}
	if len(d.Versions) != 1 || d.Versions["2.0.0"] != 1 || len(d.Hosts) != 1 || d.Hosts["b"] != 1 {
		t.Fatalf("delta versions %v hosts %v: want only the later 2.0.0 from b", d.Versions, d.Hosts)
	}
	if want := "statuses 502=1; errors: [1x read response: EOF]"; d.Failures() != want {
		t.Fatalf("Failures = %q, want %q", d.Failures(), want)
	}
	if d.MaxLatency != 30*time.Millisecond || d.Elapsed < 0 {
		t.Fatalf("delta max latency %s elapsed %s", d.MaxLatency, d.Elapsed)
	}
	if f := before.Sub(before); f.Requests != 0 || f.Versions != nil || f.Failures() != "" {
		t.Fatalf("empty window: %+v", f)
	}
}
