//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrkResult is one wrk run: throughput and its latency distribution.
type wrkResult struct {
	ReqPerSec float64 `json:"req_per_sec"`
	Requests  int64   `json:"requests"`
	P50ms     float64 `json:"p50_ms"`
	P90ms     float64 `json:"p90_ms"`
	P99ms     float64 `json:"p99_ms"`
	// SocketErrors sums wrk's connect, read, write and timeout errors;
	// Non2xx is its "Non-2xx or 3xx responses". Either makes the run
	// invalid.
	SocketErrors int64 `json:"socket_errors"`
	Non2xx       int64 `json:"non_2xx"`
	// ProxyCPUSecs is the CPU time the proxy under test used during the
	// run (filled in by the driver, not wrk); 0 for the direct path.
	ProxyCPUSecs float64 `json:"proxy_cpu_seconds,omitempty"`
}

// cpuPercent is the proxy's CPU use in percent of one CPU over d.
func (r wrkResult) cpuPercent(d float64) float64 { return ratio(r.ProxyCPUSecs, d) * 100 }

// cpuMicrosPerReq is the proxy's CPU time per request.
func (r wrkResult) cpuMicrosPerReq() float64 {
	return ratio(r.ProxyCPUSecs*1e6, float64(r.Requests))
}

// wrkArgs is the command line every target gets alike.
func wrkArgs(threads, conns int, d time.Duration, url string) []string {
	return []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(int(d.Seconds())) + "s", "--latency", url}
}

func runWrk(ctx context.Context, bin string, threads, conns int, d time.Duration, url string) (wrkResult, error) {
	args := wrkArgs(threads, conns, d, url)
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return r, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return r, nil
}

// parseWrk reads wrk 4's text report (with --latency).
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var haveRate, haveP99 bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("Requests/sec %q: %w", f[1], err)
			}
			r.ReqPerSec, haveRate = v, true
		case len(f) == 2 && strings.HasSuffix(f[0], "%"):
			ms, err := wrkDurationMs(f[1])
			if err != nil {
				return r, fmt.Errorf("latency percentile %s: %w", f[0], err)
			}
			switch f[0] {
			case "50%":
				r.P50ms = ms
			case "90%":
				r.P90ms = ms
			case "99%":
				r.P99ms, haveP99 = ms, true
			}
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			r.Requests, _ = strconv.ParseInt(f[0], 10, 64)
		case len(f) > 2 && f[0] == "Socket" && f[1] == "errors:":
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 2; i+1 < len(f); i += 2 {
				n, err := strconv.ParseInt(strings.TrimSuffix(f[i+1], ","), 10, 64)
				if err != nil {
					return r, fmt.Errorf("socket errors %q: %w", sc.Text(), err)
				}
				r.SocketErrors += n
			}
		case strings.HasPrefix(strings.TrimSpace(sc.Text()), "Non-2xx or 3xx responses:"):
			r.Non2xx, _ = strconv.ParseInt(f[len(f)-1], 10, 64)
		}
	}
	if !haveRate || !haveP99 {
		return r, fmt.Errorf("no Requests/sec or 99%% latency in wrk's output (was --latency given?)")
	}
	return r, nil
}

// wrkDurationMs converts wrk's "834.00us", "1.23ms", "1.02s", "1.50m".
func wrkDurationMs(s string) (float64, error) {
	units := []struct {
		suffix string
		ms     float64
	}{{"us", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 60e3}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("%q: %w", s, err)
			}
			return v * u.ms, nil
		}
	}
	return 0, fmt.Errorf("%q: unknown unit", s)
}
