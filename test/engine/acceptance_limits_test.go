package engine

import (
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// TestAcceptanceLimitsRestartsHealth: a memory limit is enforced and the
// OOM kill recorded; a crashing container is restarted with a growing
// backoff; a container that turns unhealthy is replaced.
func TestAcceptanceLimitsRestartsHealth(t *testing.T) {
	s := newStackEnv(t, "acc-limits")
	bb := buildBusybox(t, s.env, filepath.Join(s.work, "images"))
	s.up(fmt.Sprintf(`services:
  hog:
    image: oci-layout:%[1]s:bb
    entrypoint: [/bin/sh, -c, "head -c 100m /dev/zero | tail"]
    deploy:
      resources:
        limits: {memory: 16M}
  crash:
    image: oci-layout:%[1]s:bb
    entrypoint: [/bin/sh, -c, "exit 1"]
    restart: always
  flaky:
    image: oci-layout:%[1]s:bb
    entrypoint: [/bin/sh, -c, %[2]q]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ok"]
      interval: 300ms
      timeout: 1s
      retries: 2
`, bb, `touch /tmp/ok; sleep 4; rm /tmp/ok; `+idle))

	// crash: sample its restarts. Each start is recorded (startedAt) with
	// the restart count; the gaps between consecutive starts must grow
	// (100 ms doubling, plus a roughly constant cost of starting).
	starts := map[int]time.Time{}
	var hog, flaky psEntry
	flakyWasHealthy := false
	eventually(t, "6 restarts of crash, hog's exit and flaky's replacement", 45*time.Second, func() (bool, string) {
		for _, c := range s.ps() {
			switch c.Service {
			case "crash":
				// StartedAt changes only when a start succeeds, together
				// with Restarts: the pair is consistent in every state.
				starts[c.Restarts] = c.StartedAt
			case "hog":
				hog = c
			case "flaky":
				flaky = c
				if c.Health == "healthy" && c.Restarts == 0 {
					flakyWasHealthy = true
				}
			}
		}
		return len(starts) >= 7 && hog.State == "exited" && flaky.Restarts >= 1,
			fmt.Sprintf("crash starts %v; hog %+v; flaky %+v", starts, hog, flaky)
	})

	// Memory limit: the allocation was killed, and the kill recorded.
	if !hog.OOMKilled {
		t.Errorf("hog: oomKilled false, want true: %+v", hog)
	}
	if hog.ExitCode == 0 {
		t.Errorf("hog exited 0 although its memory hog was killed: %+v", hog)
	}

	// Backoff: consecutive gaps between starts grow.
	var ns []int
	for n := range starts {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	var gaps []time.Duration
	for i := 1; i < len(ns); i++ {
		if ns[i] == ns[i-1]+1 {
			gaps = append(gaps, starts[ns[i]].Sub(starts[ns[i-1]]))
		}
	}
	if len(gaps) < 6 {
		t.Fatalf("only %d gaps between consecutive restarts observed: %v", len(gaps), starts)
	}
	for i := 4; i < len(gaps); i++ {
		// Each delay doubles (gap i waits 100 ms·2^i before its start);
		// compare with the gap two back, from the fifth gap on: there the
		// delays differ by 1.2 s or more, while the cost of a start varies
		// by up to a second on a loaded host (CI saw gaps of 1.14 s, 0.81 s
		// and 0.85 s for delays of 0.1, 0.2 and 0.4 s).
		if gaps[i] <= gaps[i-2] {
			t.Errorf("restart gaps do not grow: %v", gaps)
			break
		}
	}
	if last, first := gaps[len(gaps)-1], gaps[0]; last < 2*first {
		t.Errorf("last restart gap %v is not at least twice the first %v: %v", last, first, gaps)
	}
	t.Logf("restart gaps: %v", gaps)

	// Health: flaky was healthy, turned unhealthy when /tmp/ok went, and
	// was replaced: it runs again, with a fresh health state.
	if !flakyWasHealthy {
		t.Errorf("flaky was never seen healthy before its replacement")
	}
	eventually(t, "flaky running again after its replacement", 10*time.Second, func() (bool, string) {
		c, _ := s.container("acc-limits-flaky-1")
		return c.State == "running" && c.Restarts >= 1 && (c.Health == "starting" || c.Health == "healthy"), fmt.Sprintf("%+v", c)
	})
}
