//go:build linux

package main

import (
	"fmt"
	"slices"
	"strings"
)

type target struct {
	Name     string `json:"name"`
	Required string `json:"required"`
	Measured string `json:"measured"`
	Ratio    string `json:"ratio,omitempty"`
	Result   string `json:"result"` // PASS, FAIL, N/A, INVALID (errors)
}

// judgeTargets checks the targets: berth's proxy at or above nginx's
// req/s with a p99 at or below nginx's, plain HTTP and TLS alike (issue
// "berth proxy: automatic HTTPS, HTTP/2, and nginx-class speed"), and no
// failed request in any berth release.
func judgeTargets(out *output) []target {
	var ts []target
	for _, pair := range [][2]string{{"berth", "nginx"}, {"berth-tls", "nginx-tls"}} {
		kind := "plain HTTP"
		if pair[0] == "berth-tls" {
			kind = "TLS"
		}
		rps := target{Name: "proxy req/s, " + kind, Required: "berth ≥ 1.0× nginx", Result: "N/A"}
		p99 := target{Name: "proxy p99 latency, " + kind, Required: "berth ≤ 1.0× nginx", Result: "N/A"}
		b, n := out.Throughput.path(pair[0]), out.Throughput.path(pair[1])
		switch {
		case b == nil || n == nil:
			rps.Measured, p99.Measured = "not measured", "not measured"
		case !out.Throughput.Proxied:
			rps.Measured, p99.Measured = "no berth proxy in this build", "no berth proxy in this build"
		default:
			rps.Measured = fmt.Sprintf("berth %.0f, nginx %.0f", b.Median.ReqPerSec, n.Median.ReqPerSec)
			p99.Measured = fmt.Sprintf("berth %.2f ms, nginx %.2f ms", b.Median.P99ms, n.Median.P99ms)
			rr, pr := ratio(b.Median.ReqPerSec, n.Median.ReqPerSec), ratio(b.Median.P99ms, n.Median.P99ms)
			rps.Ratio, p99.Ratio = fmt.Sprintf("%.2f×", rr), fmt.Sprintf("%.2f×", pr)
			rps.Result, p99.Result = passFail(rr >= 1.0), passFail(pr <= 1.0)
			if wrkErrors(b) || wrkErrors(n) {
				rps.Result, p99.Result = "INVALID (errors)", "INVALID (errors)"
			}
		}
		ts = append(ts, rps, p99)
	}

	rel := target{Name: "failed requests during every release", Required: "berth deploy: 0 (compose's count beside it)", Result: "N/A"}
	berth, compose := releasesOf(out, "berth"), releasesOf(out, "compose")
	switch {
	case out.BerthRelease != "":
		rel.Measured = out.BerthRelease
	case len(berth) == 0:
		rel.Measured = "not measured"
	default:
		ok := true
		for _, r := range berth {
			ok = ok && r.Counts.Failed() == 0 && r.complete()
		}
		rel.Measured = "berth " + failedList(berth)
		rel.Result = passFail(ok)
	}
	if len(compose) > 0 {
		rel.Measured += "; compose " + failedList(compose)
	}
	return append(ts, rel)
}

func releasesOf(out *output, tool string) []releaseResult {
	var rs []releaseResult
	for _, r := range out.Releases {
		if r.Tool == tool {
			rs = append(rs, r)
		}
	}
	return rs
}

// failedList is the failed-request counts of releases, e.g. "0, 0, 0".
func failedList(rs []releaseResult) string {
	var s []string
	for _, r := range rs {
		v := fmt.Sprint(r.Counts.Failed())
		if !r.complete() {
			v += " (incomplete)"
		}
		s = append(s, v)
	}
	return strings.Join(s, ", ")
}

func wrkErrors(p *pathResult) bool { return p.Median.SocketErrors+p.Median.Non2xx > 0 }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// notes explains what a reader could misread.
func notes(out *output) []string {
	var ns []string
	ns = append(ns, fmt.Sprintf("The machine has %d CPUs, shared by wrk, the proxy under test and the backend: req/s are bounded by the machine, and the ratios compare the proxies under the same squeeze.", out.Meta.CPUs))
	if t := out.Throughput; t != nil {
		ns = append(ns, "kamal-proxy is not in the table: github.com/basecamp/kamal-proxy is not served by this machine's Go module proxy (403 for every version tried) and no Debian package has it.")
		for _, p := range t.Paths {
			if wrkErrors(&p) {
				ns = append(ns, fmt.Sprintf("%s: wrk reported %d socket errors and %d non-2xx responses over the rounds.", p.Title, p.Median.SocketErrors, p.Median.Non2xx))
			}
		}
	}
	for _, r := range out.Releases {
		if r.Error != "" {
			ns = append(ns, fmt.Sprintf("%s release %d (v%s → v%s) failed: %s", r.Tool, r.Round, r.From, r.To, firstLine(r.Error)))
		} else if !r.complete() {
			ns = append(ns, fmt.Sprintf("%s release %d (v%s → v%s): afterwards the app still answered with %v, not only v%s.", r.Tool, r.Round, r.From, r.To, r.After, r.To))
		}
		if f := r.Counts.Failures(); f != "" {
			ns = append(ns, fmt.Sprintf("%s release %d, failed requests: %s", r.Tool, r.Round, f))
		}
	}
	return ns
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func markdown(out *output) string {
	var b strings.Builder
	m := out.Meta
	fmt.Fprintf(&b, "### Run (%s)\n\n", m.Date)
	fmt.Fprintf(&b, "- Host: %s.\n", m.Host)
	var vs []string
	for k, v := range m.Versions {
		if v != "" {
			vs = append(vs, k+": "+v)
		}
	}
	slices.Sort(vs)
	fmt.Fprintf(&b, "- Versions: %s.\n", strings.Join(vs, "; "))
	fmt.Fprintf(&b, "- Setup (untimed) %.0f s, whole run %.0f s.\n\n", m.SetupSecs, m.TotalSecs)

	if t := out.Throughput; t != nil {
		fmt.Fprintf(&b, "Proxy throughput, one backend container per transport (examples/%s, GET %s), `%s`, median of %d interleaved round(s):\n\n", t.Backend, benchPath(t.Backend), t.Command, t.Rounds)
		b.WriteString("| path | req/s | p50 ms | p90 ms | p99 ms | req/s ÷ nginx | p99 ÷ nginx | proxy CPU % | proxy CPU µs/req | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, p := range t.Paths {
			n := t.path(p.anchor())
			md := p.Median
			cpu, perReq := "—", "—"
			if p.Name != "direct" {
				cpu, perReq = fmt.Sprintf("%.0f", md.cpuPercent(t.Seconds)), fmt.Sprintf("%.1f", md.cpuMicrosPerReq())
			}
			fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.2f | %.2f | %.2f× | %.2f× | %s | %s | %d |\n", p.Title, md.ReqPerSec, md.P50ms, md.P90ms, md.P99ms,
				ratio(md.ReqPerSec, n.Median.ReqPerSec), ratio(md.P99ms, n.Median.P99ms), cpu, perReq, md.SocketErrors+md.Non2xx)
		}
		b.WriteString("\nRatios of the TLS paths are to nginx over TLS. proxy CPU: user + system time of the proxy's processes (berth proxy; nginx master and workers) during the run, in percent of one CPU and per request (medians over the rounds).\n")
		b.WriteString("\n")
	}

	if len(out.Releases) > 0 || out.BerthRelease != "" {
		fmt.Fprintf(&b, "Releases of 3 replicas under steady load (%s):\n\n", m.Load)
		b.WriteString("| tool | release | command | duration s | requests in window | failed (non-2xx + connection errors) | answering afterwards |\n|---|---|---|---:|---:|---:|---|\n")
		for _, r := range out.Releases {
			after := versionsList(r.After)
			if r.Error != "" {
				after = "command failed: " + firstLine(r.Error)
			}
			fmt.Fprintf(&b, "| %s | %d: v%s → v%s | `%s` | %.2f | %d | %d (%d + %d) | %s |\n", r.Tool, r.Round, r.From, r.To, r.Command, r.Seconds,
				r.Counts.Requests, r.Counts.Failed(), r.Counts.Non2xx, r.Counts.ConnErrors, after)
		}
		if out.BerthRelease != "" {
			fmt.Fprintf(&b, "| berth | — | `berth deploy` | — | — | — | %s |\n", out.BerthRelease)
		}
		b.WriteString("\n")
	}

	b.WriteString("| target | required | measured | ratio | result |\n|---|---|---|---:|---|\n")
	for _, t := range out.Targets {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", t.Name, t.Required, t.Measured, t.Ratio, t.Result)
	}
	b.WriteString("\n")
	for _, n := range out.Notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	return b.String()
}

// versionsList prints {"2.0.0": 400} as "v2.0.0 (400)".
func versionsList(vs map[string]int64) string {
	keys := make([]string, 0, len(vs))
	for k := range vs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var s []string
	for _, k := range keys {
		s = append(s, fmt.Sprintf("v%s (%d)", k, vs[k]))
	}
	if len(s) == 0 {
		return "nothing"
	}
	return strings.Join(s, ", ")
}
