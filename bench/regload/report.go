package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// report is regload's whole output; with -json it is printed as one JSON
// document, which bench/regbench parses (keep the field names stable).
type report struct {
	Tool            string   `json:"tool"`
	URL             string   `json:"url"`
	Concurrency     int      `json:"concurrency"`
	DurationSeconds float64  `json:"duration_seconds"`
	WarmupSeconds   float64  `json:"warmup_seconds"`
	Setup           setupOut `json:"setup"`
	Scenarios       []result `json:"scenarios"`
	// ServerPID, when set with -server-pid, is the process whose CPU and
	// memory the per-scenario server_* fields describe.
	ServerPID int `json:"server_pid,omitempty"`
	// ServerVmHWMBytes is the server's lifetime peak RSS (VmHWM) read after
	// the last scenario.
	ServerVmHWMBytes int64 `json:"server_vmhwm_bytes,omitempty"`
	// Flagged is true when any scenario had errors.
	Flagged bool `json:"flagged"`
}

type setupOut struct {
	Seconds   float64  `json:"seconds"`
	PullBlobs int      `json:"pull_blobs_per_size"`
	Images    int      `json:"images"`
	Tags      int      `json:"tags"`
	Warnings  []string `json:"warnings,omitempty"`
}

type latencyOut struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// result is one scenario's measurement. Ops, rates and latencies count
// successful operations only; any non-2xx or transport failure is an error
// and flags the scenario.
type result struct {
	Name             string     `json:"name"`
	Seconds          float64    `json:"seconds"`
	Ops              int64      `json:"ops"`
	Errors           int64      `json:"errors"`
	Flagged          bool       `json:"flagged"`
	ErrorSamples     []string   `json:"error_samples,omitempty"`
	OpsPerSec        float64    `json:"ops_per_sec"`
	BytesPerOp       int64      `json:"bytes_per_op,omitempty"`
	MiBPerSec        float64    `json:"mib_per_sec,omitempty"`
	LatencyMs        latencyOut `json:"latency_ms"`
	ClientCPUPercent float64    `json:"client_cpu_percent"`
	// Server CPU percent is of one core (200 = two cores busy).
	ServerCPUPercent float64 `json:"server_cpu_percent,omitempty"`
	ServerCPUusPerOp float64 `json:"server_cpu_us_per_op,omitempty"`
	ServerPeakRSS    int64   `json:"server_peak_rss_bytes,omitempty"`
	// OtherCPUPercent is CPU used by everything except regload and the
	// server during the scenario (needs -server-pid); more than a few
	// percent means the machine was not quiet and the numbers are noisy.
	OtherCPUPercent float64 `json:"other_cpu_percent,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func newResult(sc scenario, ps phaseStats, clientCPU, serverCPU, systemCPU time.Duration, serverPID int, serverRSS int64) result {
	secs := ps.elapsed.Seconds()
	ops := int64(len(ps.latencies))
	r := result{
		Name:         sc.name,
		Seconds:      secs,
		Ops:          ops,
		Errors:       ps.errors,
		Flagged:      ps.errors > 0,
		ErrorSamples: ps.errorSamples,
		OpsPerSec:    float64(ops) / secs,
		BytesPerOp:   sc.bytesPerOp,
		LatencyMs: latencyOut{
			Mean: ms(mean(ps.latencies)),
			P50:  ms(percentile(ps.latencies, 50)),
			P90:  ms(percentile(ps.latencies, 90)),
			P99:  ms(percentile(ps.latencies, 99)),
			Max:  ms(percentile(ps.latencies, 100)),
		},
		ClientCPUPercent: 100 * clientCPU.Seconds() / secs,
	}
	if sc.bytesPerOp > 0 {
		r.MiBPerSec = float64(ops*sc.bytesPerOp) / (1 << 20) / secs
	}
	if serverPID > 0 {
		r.ServerCPUPercent = 100 * serverCPU.Seconds() / secs
		if ops > 0 {
			r.ServerCPUusPerOp = float64(serverCPU.Microseconds()) / float64(ops)
		}
		r.ServerPeakRSS = serverRSS
		if systemCPU > 0 {
			r.OtherCPUPercent = max(0, 100*(systemCPU-clientCPU-serverCPU).Seconds()/secs)
		}
	}
	return r
}

// writeText prints the report as an aligned table for people.
func (rep *report) writeText(w io.Writer) {
	fmt.Fprintf(w, "regload %s  concurrency=%d duration=%gs warmup=%gs\n",
		rep.URL, rep.Concurrency, rep.DurationSeconds, rep.WarmupSeconds)
	fmt.Fprintf(w, "setup: %.1fs, %d pull blobs per size, %d images, %d tags\n",
		rep.Setup.Seconds, rep.Setup.PullBlobs, rep.Setup.Images, rep.Setup.Tags)
	for _, wmsg := range rep.Setup.Warnings {
		fmt.Fprintf(w, "setup warning: %s\n", wmsg)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := "scenario\tops/s\tMiB/s\tp50 ms\tp99 ms\terrors\tclient CPU%\t"
	if rep.ServerPID > 0 {
		header += "server CPU%\tserver µs/op\tserver RSS MiB\tother CPU%\t"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rep.Scenarios {
		mib := "-"
		if r.BytesPerOp > 0 {
			mib = fmt.Sprintf("%.1f", r.MiBPerSec)
		}
		errs := fmt.Sprint(r.Errors)
		if r.Flagged {
			errs += " !"
		}
		line := fmt.Sprintf("%s\t%.0f\t%s\t%.2f\t%.2f\t%s\t%.0f\t",
			r.Name, r.OpsPerSec, mib, r.LatencyMs.P50, r.LatencyMs.P99, errs, r.ClientCPUPercent)
		if rep.ServerPID > 0 {
			line += fmt.Sprintf("%.0f\t%.0f\t%.1f\t%.0f\t", r.ServerCPUPercent, r.ServerCPUusPerOp, float64(r.ServerPeakRSS)/(1<<20), r.OtherCPUPercent)
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	if rep.ServerVmHWMBytes > 0 {
		fmt.Fprintf(w, "server peak RSS (VmHWM): %.1f MiB\n", float64(rep.ServerVmHWMBytes)/(1<<20))
	}
	for _, r := range rep.Scenarios {
		if r.Flagged {
			fmt.Fprintf(w, "FLAGGED %s: %d errors, e.g.:\n  %s\n", r.Name, r.Errors, strings.Join(r.ErrorSamples, "\n  "))
		}
	}
}
