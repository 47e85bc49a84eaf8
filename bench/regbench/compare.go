package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

// loadReport mirrors the part of regload's -json output regbench uses (see
// bench/regload/report.go; the field names are that tool's stable output).
type loadReport struct {
	Concurrency     int     `json:"concurrency"`
	DurationSeconds float64 `json:"duration_seconds"`
	WarmupSeconds   float64 `json:"warmup_seconds"`
	Setup           struct {
		Seconds   float64  `json:"seconds"`
		PullBlobs int      `json:"pull_blobs_per_size"`
		Images    int      `json:"images"`
		Tags      int      `json:"tags"`
		Warnings  []string `json:"warnings"`
	} `json:"setup"`
	Scenarios []loadResult `json:"scenarios"`
	Flagged   bool         `json:"flagged"`
}

type loadResult struct {
	Name         string   `json:"name"`
	Seconds      float64  `json:"seconds"`
	Ops          int64    `json:"ops"`
	Errors       int64    `json:"errors"`
	Flagged      bool     `json:"flagged"`
	ErrorSamples []string `json:"error_samples"`
	OpsPerSec    float64  `json:"ops_per_sec"`
	BytesPerOp   int64    `json:"bytes_per_op"`
	MiBPerSec    float64  `json:"mib_per_sec"`
	LatencyMs    struct {
		Mean float64 `json:"mean"`
		P50  float64 `json:"p50"`
		P90  float64 `json:"p90"`
		P99  float64 `json:"p99"`
		Max  float64 `json:"max"`
	} `json:"latency_ms"`
	ClientCPUPercent float64 `json:"client_cpu_percent"`
	ServerCPUPercent float64 `json:"server_cpu_percent"`
	ServerCPUusPerOp float64 `json:"server_cpu_us_per_op"`
	ServerPeakRSS    int64   `json:"server_peak_rss_bytes"`
	OtherCPUPercent  float64 `json:"other_cpu_percent"`
}

// noisyCPUPercent is how much CPU (percent of one core) other processes may
// use during a scenario before the report calls the number noisy.
const noisyCPUPercent = 20

// merge adds the scenarios of another regload run against the same server;
// setup facts come from the first run.
func (l *loadReport) merge(other *loadReport) {
	if len(l.Scenarios) == 0 {
		warnings := l.Setup.Warnings
		*l = *other
		l.Scenarios = nil
		l.Setup.Warnings = warnings
	}
	l.mergeWarnings(other)
	// Only invocations whose scenario needs the images create the tags.
	l.Setup.Tags = max(l.Setup.Tags, other.Setup.Tags)
	l.Scenarios = append(l.Scenarios, other.Scenarios...)
	l.Flagged = l.Flagged || other.Flagged
}

// mergeWarnings adds other's setup warnings that l does not have yet.
func (l *loadReport) mergeWarnings(other *loadReport) {
	for _, w := range other.Setup.Warnings {
		if !slices.Contains(l.Setup.Warnings, w) {
			l.Setup.Warnings = append(l.Setup.Warnings, w)
		}
	}
}

// headline is the number a scenario is judged by: MiB/s when it moves blob
// bytes, requests per second otherwise.
func headline(r loadResult) float64 {
	if r.BytesPerOp > 0 {
		return r.MiBPerSec
	}
	return r.OpsPerSec
}

// pickMedian returns the round whose single scenario has the median headline
// rate (the lower middle for an even count). A round with errors sorts first
// so it is never hidden behind a clean median by accident: with errors in
// most rounds, the median round has errors too.
func pickMedian(rounds []*loadReport) *loadReport {
	key := func(r *loadReport) (bool, float64) {
		if len(r.Scenarios) == 0 {
			return false, 0
		}
		return r.Scenarios[0].Errors == 0, headline(r.Scenarios[0])
	}
	return benchkit.MedianBy(rounds, func(a, b *loadReport) int {
		okA, vA := key(a)
		okB, vB := key(b)
		if okA != okB {
			if !okA {
				return -1
			}
			return 1
		}
		return cmp.Compare(vA, vB)
	})
}

// serverResult is one registry's run: regload's report plus what the driver
// measured itself.
type serverResult struct {
	Name         string     `json:"name"`
	Description  string     `json:"description"`
	PeakRSSBytes int64      `json:"peak_rss_bytes"` // VmHWM just before stopping
	Load         loadReport `json:"load"`
	// Rounds are every round's result with -rounds > 1; Load holds the
	// median round of each scenario.
	Rounds        []loadResult `json:"rounds,omitempty"`
	ServerLogTail string       `json:"server_log_tail,omitempty"`
}

func (s *serverResult) scenario(name string) (loadResult, bool) {
	for _, r := range s.Load.Scenarios {
		if r.Name == name {
			return r, true
		}
	}
	return loadResult{}, false
}

// metric is one comparable number of a scenario. Headline metrics go in the
// first table (throughput per scenario), the rest in the details table.
type metric struct {
	label        string
	higherBetter bool
	informative  bool // neither higher nor lower is better: no ratio
	headline     bool
	get          func(loadResult) float64
	applies      func(loadResult) bool
}

func movesBytes(r loadResult) bool { return r.BytesPerOp > 0 }

// metrics are shown in this order. Blob scenarios show MiB/s rather than
// req/s (a push is three requests; either rate is proportional to MiB/s).
var metrics = []metric{
	{"MiB/s", true, false, true, func(r loadResult) float64 { return r.MiBPerSec }, movesBytes},
	{"req/s", true, false, true, func(r loadResult) float64 { return r.OpsPerSec }, func(r loadResult) bool { return !movesBytes(r) }},
	{"p50 latency ms", false, false, false, func(r loadResult) float64 { return r.LatencyMs.P50 }, nil},
	{"p99 latency ms", false, false, false, func(r loadResult) float64 { return r.LatencyMs.P99 }, nil},
	{"server CPU µs/op", false, false, false, func(r loadResult) float64 { return r.ServerCPUusPerOp }, nil},
	// The generator shares the CPUs with the server: when it needs a large
	// share, the server's rate is bounded by the machine, not by itself.
	{"regload CPU %", false, true, false, func(r loadResult) float64 { return r.ClientCPUPercent }, nil},
	{"errors", false, false, true, func(r loadResult) float64 { return float64(r.Errors) }, nil},
}

// row is one line of the comparison: a metric of a scenario on every server.
type row struct {
	Scenario string    `json:"scenario"`
	Metric   string    `json:"metric"`
	Better   string    `json:"better"` // "higher", "lower" or "–" (informative)
	Headline bool      `json:"headline"`
	Values   []float64 `json:"values"` // in server order
	// Ratio is last server ÷ first server (berth ÷ distribution), present
	// when exactly two servers ran and the first value is non-zero.
	Ratio *float64 `json:"ratio,omitempty"`
}

// target is one goal from the issue, judged on the measured numbers.
type target struct {
	Name     string   `json:"name"`
	Required string   `json:"required"`
	Ratio    *float64 `json:"ratio,omitempty"`
	Result   string   `json:"result"` // PASS, FAIL, INVALID (errors), N/A
	Note     string   `json:"note,omitempty"`
}

func ratio(num, den float64) *float64 {
	if den == 0 || math.IsNaN(num) || math.IsNaN(den) {
		return nil
	}
	r := num / den
	return &r
}

// buildRows lays out every metric of every scenario that ran, plus peak RSS.
func buildRows(servers []serverResult, scenarioOrder []string) []row {
	var rows []row
	for _, name := range scenarioOrder {
		for _, m := range metrics {
			var vals []float64
			applies, anyErrors := false, false
			for i := range servers {
				r, ok := servers[i].scenario(name)
				if !ok {
					vals = append(vals, math.NaN())
					continue
				}
				if m.applies == nil || m.applies(r) {
					applies = true
				}
				anyErrors = anyErrors || r.Errors > 0
				vals = append(vals, m.get(r))
			}
			if !applies || (m.label == "errors" && !anyErrors) {
				continue
			}
			r := newRow(name, m.label, m.higherBetter, m.headline, vals)
			if m.informative {
				r.Better, r.Ratio = "–", nil
			}
			rows = append(rows, r)
		}
	}
	var rss []float64
	for _, s := range servers {
		rss = append(rss, float64(s.PeakRSSBytes)/(1<<20))
	}
	return append(rows, newRow("(whole run)", "peak RSS MiB (VmHWM)", false, true, rss))
}

func newRow(scenario, label string, higherBetter, headline bool, vals []float64) row {
	r := row{Scenario: scenario, Metric: label, Better: "lower", Headline: headline, Values: vals}
	if higherBetter {
		r.Better = "higher"
	}
	if len(vals) == 2 {
		r.Ratio = ratio(vals[1], vals[0])
	}
	return r
}

// targetSpec is a throughput goal: berth's metric at least factor × distribution's.
type targetSpec struct {
	scenario string
	metric   string
	factor   float64
	get      func(loadResult) float64
}

var throughputTargets = []targetSpec{
	{"manifest-head", "req/s", 4, func(r loadResult) float64 { return r.OpsPerSec }},
	{"manifest-get", "req/s", 4, func(r loadResult) float64 { return r.OpsPerSec }},
	{"push1m", "MiB/s", 3, func(r loadResult) float64 { return r.MiBPerSec }},
	{"pull1m", "MiB/s", 2, func(r loadResult) float64 { return r.MiBPerSec }},
}

// judgeTargets evaluates the targets; it needs exactly the two
// servers distribution (first) and berth (second).
func judgeTargets(servers []serverResult) []target {
	var out []target
	pair := len(servers) == 2 && servers[0].Name == "distribution" && servers[1].Name == "berth"
	for _, ts := range throughputTargets {
		t := target{
			Name:     fmt.Sprintf("%s %s", ts.scenario, ts.metric),
			Required: fmt.Sprintf("berth ≥ %g× distribution", ts.factor),
			Result:   "N/A",
		}
		if !pair {
			t.Note = "needs both servers"
			out = append(out, t)
			continue
		}
		d, okD := servers[0].scenario(ts.scenario)
		b, okB := servers[1].scenario(ts.scenario)
		switch {
		case !okD || !okB:
			t.Note = "scenario not run"
		case d.Errors > 0 || b.Errors > 0:
			t.Result = "INVALID (errors)"
			t.Ratio = ratio(ts.get(b), ts.get(d))
			t.Note = fmt.Sprintf("errors: distribution %d, berth %d", d.Errors, b.Errors)
		default:
			t.Ratio = ratio(ts.get(b), ts.get(d))
			t.Result = "FAIL"
			if t.Ratio != nil && *t.Ratio >= ts.factor {
				t.Result = "PASS"
			}
		}
		out = append(out, t)
	}
	t := target{Name: "peak RSS", Required: "berth < distribution", Result: "N/A"}
	if pair {
		d, b := servers[0].PeakRSSBytes, servers[1].PeakRSSBytes
		t.Ratio = ratio(float64(b), float64(d))
		t.Result = "FAIL"
		if b > 0 && d > 0 && b < d {
			t.Result = "PASS"
		}
		if b == 0 || d == 0 {
			t.Result, t.Note = "N/A", "peak RSS not measured"
		}
	} else {
		t.Note = "needs both servers"
	}
	return append(out, t)
}

// formatValue prints a metric with precision that suits its size.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func formatRatio(r *float64) string {
	if r == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f×", *r)
}

// markdown renders the comparison and targets as GitHub-flavoured Markdown,
// readable as plain text in a terminal too.
func markdown(meta runMeta, servers []serverResult, rows []row, targets []target) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Registry benchmark (%s)\n\n", meta.Date)
	fmt.Fprintf(&b, "- Host: %s; load generator and server share the machine.\n", meta.Host)
	fmt.Fprintf(&b, "- Load: `regload`, concurrency %d, %gs per scenario after %gs warm-up; setup %d blobs per pull size, %d images, %d tags in one repository.",
		meta.Concurrency, meta.DurationSeconds, meta.WarmupSeconds, meta.PullBlobs, meta.Images, meta.Tags)
	if meta.Rounds > 1 {
		fmt.Fprintf(&b, " Each scenario ran %d times per server, alternating servers; the median round is shown.", meta.Rounds)
	} else {
		b.WriteString(" Scenarios alternate between the servers (one loaded at a time).")
	}
	if meta.PrewarmGiB > 0 {
		fmt.Fprintf(&b, " Before each push run, for every server alike, %d GiB of fresh memory was touched and freed (`-prewarm-gib`; a VM's first touch of a page dominates page-cache writes otherwise).", meta.PrewarmGiB)
	}
	b.WriteString("\n")
	for _, s := range servers {
		fmt.Fprintf(&b, "- %s: %s\n", s.Name, s.Description)
	}
	b.WriteString("\nThroughput and memory:\n")
	writeTable(&b, servers, rows, true)
	b.WriteString("\nLatency and server CPU per operation:\n")
	writeTable(&b, servers, rows, false)
	b.WriteString("\nRatios are berth ÷ distribution for every metric: above 1 is better where \"better\" is higher, below 1 where it is lower. " +
		"`regload CPU %` is the load generator's own CPU use (percent of one CPU) on the same machine: where it is large, the rate is bounded by the machine rather than the server.\n")

	b.WriteString("\n| target | required | berth ÷ distribution | result |\n|---|---|---:|---|\n")
	for _, t := range targets {
		res := t.Result
		if t.Note != "" {
			res += " (" + t.Note + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Required, formatRatio(t.Ratio), res)
	}

	for _, s := range servers {
		for _, w := range s.Load.Setup.Warnings {
			fmt.Fprintf(&b, "\n- %s setup warning: %s", s.Name, w)
		}
		for _, r := range s.Load.Scenarios {
			if r.Flagged {
				fmt.Fprintf(&b, "\n- **%s %s had %d errors**, e.g. `%s`", s.Name, r.Name, r.Errors, strings.Join(r.ErrorSamples, "`; `"))
			}
			if r.OtherCPUPercent > noisyCPUPercent {
				fmt.Fprintf(&b, "\n- %s %s is noisy: other processes used %.0f%% of a CPU during it; rerun on a quiet machine.", s.Name, r.Name, r.OtherCPUPercent)
			}
		}
	}
	b.WriteString("\n")
	return b.String()
}

// writeTable renders the headline or the detail rows.
func writeTable(b *strings.Builder, servers []serverResult, rows []row, headline bool) {
	b.WriteString("\n| scenario | metric | better |")
	for _, s := range servers {
		fmt.Fprintf(b, " %s |", s.Name)
	}
	two := len(servers) == 2
	if two {
		fmt.Fprintf(b, " %s ÷ %s |", servers[1].Name, servers[0].Name)
	}
	b.WriteString("\n|---|---|---|")
	for range servers {
		b.WriteString("---:|")
	}
	if two {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		if r.Headline != headline {
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %s |", r.Scenario, r.Metric, r.Better)
		for _, v := range r.Values {
			fmt.Fprintf(b, " %s |", formatValue(v))
		}
		if two {
			fmt.Fprintf(b, " %s |", formatRatio(r.Ratio))
		}
		b.WriteString("\n")
	}
}
