//go:build linux

package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// The targets.
const (
	firstByteLimitMS = 50.0
	addedCPULimit    = 1.0 // percent of one CPU
)

func targets(o *output) []target {
	var ts []target
	for _, p := range o.Pages {
		ts = append(ts, target{
			Name:     "first byte, " + p.Name + " (p95)",
			Required: fmt.Sprintf("≤ %.0f ms", firstByteLimitMS),
			Measured: fmt.Sprintf("%.1f ms", p.P95),
			Result:   passFail(len(p.MS) > 0 && p.P95 <= firstByteLimitMS),
		})
	}
	for _, c := range o.CPU {
		if !c.Judged {
			continue
		}
		ts = append(ts, target{
			Name:     "daemon CPU added by the live streams, " + c.Name,
			Required: fmt.Sprintf("≤ %.0f%% of one CPU", addedCPULimit),
			Measured: fmt.Sprintf("%+.2f%%", c.Added),
			Result:   passFail(c.Added <= addedCPULimit),
		})
	}
	return ts
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// quantile is the nearest-rank q-quantile of vs (q=1: the maximum).
func quantile(vs []float64, q float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	// ceil(q·n), less a hair so 0.95·20 (19.000000000000004) stays 19.
	i := int(math.Ceil(float64(len(s))*q-1e-9)) - 1
	return s[max(0, min(i, len(s)-1))]
}

func markdown(o *output) string {
	var b strings.Builder
	m := o.Meta
	fmt.Fprintf(&b, "## Console: %d services\n\n", m.Services)
	fmt.Fprintf(&b, "- Date: %s; host: %s; %s\n", m.Date, m.Host, m.Berth)
	fmt.Fprintf(&b, "- Load average (1, 5, 15 min): %s at the start, %s at the end; the machine is shared, see the machine-busy column\n", m.LoadBefore, m.LoadAfter)
	fmt.Fprintf(&b, "- Setup: `berth daemon --console 127.0.0.1:PORT --console-users FILE`, `berth up` of %d busybox services of 1 replica (each printed 200 log lines, then sleeps); logged in through the login form\n\n", m.Services)
	fmt.Fprintf(&b, "Time to first byte, %d requests per page kind after 2 untimed, kinds taking turns, one kept-alive connection, no stream open:\n\n", m.Requests)
	b.WriteString("| page | path | bytes | median ms | p95 ms | max ms |\n|---|---|---:|---:|---:|---:|\n")
	for _, p := range o.Pages {
		path := p.Path
		if len(path) > 40 {
			path = path[:30] + "…"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %d | %.1f | %.1f | %.1f |\n", p.Name, path, p.Bytes, p.Median, p.P95, p.Max)
	}
	fmt.Fprintf(&b, "\nThe daemon process's CPU (utime+stime, every thread) over %.0f s per case; a browser on the stacks page has 1 stream, on a service page 3 (live part, sparklines, logs); baseline = the median of the cases without streams; the browsers of a case are on the same page, except in the last case with streams (not judged: every service's page is its own work — its replicas' samples, its log files):\n\n", m.WindowSecs)
	b.WriteString("| case | browsers | streams | events received | daemon CPU s | daemon % of one CPU | added % | machine busy % |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range o.CPU {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %.2f | %.2f | %+.2f | %.0f |\n", c.Name, c.Browsers, c.Streams, c.Events, c.CPUSecs, c.Percent, c.Added, c.MachineBusy)
	}
	b.WriteString("\nTargets (issue 14):\n\n| target | required | measured | result |\n|---|---|---|---|\n")
	for _, t := range o.Targets {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Required, t.Measured, t.Result)
	}
	fmt.Fprintf(&b, "\nTotal run time %.0f s.\n", m.TotalSecs)
	return b.String()
}
