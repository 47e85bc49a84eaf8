//go:build linux

// Command enginebench compares berth's container engine with raw runc and
// with Docker (Debian docker.io, a private dockerd) on one machine, in one
// run, and prints a side-by-side Markdown table with ratios and the issue's
// targets: start latency (from the start of the command until the
// container's process runs, seen as a marker file it creates in a
// bind-mounted directory, image already unpacked, methods interleaved; raw
// runc both with `runc spec`'s defaults and with berth's own config.json,
// berth as one more container through the API and through `berth scale`,
// and as a new stack through the API and `berth up`),
// `berth up` of a 10-service stack, and daemon memory with many running
// containers (berth's daemon + its per-container `berth shim` supervisors
// vs dockerd + containerd + a containerd-shim-runc-v2 per container).
//
//	go run ./bench/enginebench                  # full run, a few minutes, as root
//	go run ./bench/enginebench -quick           # smoke run
//	go run ./bench/enginebench -md out.md -json out.json
//
// Exit status: 0 ran, 1 (with -enforce) a target was not met, 2 the run
// could not be done.
package main

import (
	"github.com/berth-dev/berth/bench/internal/benchkit"

	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

type options struct {
	quick      bool
	runs       int // latency runs per method
	stackRuns  int // `berth up` runs of the 10-service stack
	services   int // services in the stack
	containers int // running containers for the memory comparison
	tools      []string
	berthBin   string
	runcBin    string
	dockerBin  string
	dockerdBin string
	mdPath     string
	jsonPath   string
	enforce    bool
	keep       bool
	settle     time.Duration // pause after every latency run's stop
}

var knownTools = []string{"berth", "runc", "docker"}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("enginebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.quick, "quick", false, "smoke run: 5 latency runs, 1 stack run, 10 containers for memory")
	fs.IntVar(&o.runs, "runs", 20, "start-latency runs per method (median and p90 reported)")
	fs.IntVar(&o.stackRuns, "stack-runs", 5, "runs of `berth up` of the multi-service stack")
	fs.IntVar(&o.services, "services", 10, "services in the multi-service stack")
	fs.IntVar(&o.containers, "containers", 50, "running containers for the memory comparison")
	tools := fs.String("tools", "berth,runc,docker", "what to compare (berth, runc, docker); berth is always included")
	fs.StringVar(&o.berthBin, "berth-bin", "", "prebuilt berth binary (default: go build ./cmd/berth)")
	fs.StringVar(&o.runcBin, "runc-bin", "/usr/sbin/runc", "runc (Debian's; berth's daemon finds runc in PATH)")
	fs.StringVar(&o.dockerBin, "docker-bin", "/usr/bin/docker", "docker CLI (Debian docker.io; a newer client elsewhere in PATH would not be the packaged one)")
	fs.StringVar(&o.dockerdBin, "dockerd-bin", "/usr/sbin/dockerd", "dockerd (Debian docker.io)")
	fs.StringVar(&o.mdPath, "md", os.Getenv("ENGINEBENCH_MD"), "also write the Markdown report to this file (env ENGINEBENCH_MD)")
	fs.StringVar(&o.jsonPath, "json", os.Getenv("ENGINEBENCH_JSON"), "also write the full results as JSON to this file (env ENGINEBENCH_JSON)")
	fs.BoolVar(&o.enforce, "enforce", false, "exit 1 when a target is not PASS")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (daemon logs, bundles)")
	fs.DurationVar(&o.settle, "settle", 300*time.Millisecond, "pause after every latency run's stop, the same for every method, so background work settles")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.quick {
		o.runs, o.stackRuns, o.containers = 5, 1, 10
	}
	for name, v := range map[string]int{"-runs": o.runs, "-stack-runs": o.stackRuns, "-services": o.services, "-containers": o.containers} {
		if v < 1 {
			return o, fmt.Errorf("%s %d: need at least 1", name, v)
		}
	}
	if o.settle < 0 || o.settle > time.Minute {
		return o, fmt.Errorf("-settle %s: want 0 to 1m", o.settle)
	}
	if o.containers > 200 {
		return o, fmt.Errorf("-containers %d: at most 200 (one /24 network per stack)", o.containers)
	}
	o.tools = []string{"berth"}
	for t := range strings.SplitSeq(*tools, ",") {
		t = strings.TrimSpace(t)
		switch t {
		case "berth", "":
		case "runc", "docker":
			if !slices.Contains(o.tools, t) {
				o.tools = append(o.tools, t)
			}
		default:
			return o, fmt.Errorf("-tools: unknown tool %q (known: %s)", t, strings.Join(knownTools, ", "))
		}
	}
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// runMeta describes the run for the report header and JSON.
type runMeta struct {
	Date      string            `json:"date"`
	CPU       string            `json:"cpu"`
	CPUs      int               `json:"cpus"`
	Kernel    string            `json:"kernel"`
	GoVersion string            `json:"go_version"`
	Runs      int               `json:"runs"`
	Versions  map[string]string `json:"versions"`
	Setup     []string          `json:"setup"` // how each engine was run, one line each
	SetupSecs float64           `json:"setup_seconds"`
	TotalSecs float64           `json:"total_seconds"`
	// BackgroundCPU is the machine's CPU use (percent of one CPU) in the
	// second before the benchmark started: other processes, i.e. noise.
	BackgroundCPU float64 `json:"background_cpu_percent"`
	// LatencyCPU is the machine's CPU use during the latency runs.
	LatencyCPU float64 `json:"latency_cpu_percent"`
}

// output is the -json file.
type output struct {
	Meta    runMeta          `json:"meta"`
	Tools   []string         `json:"tools"`
	Latency []latencyResult  `json:"latency"`
	Stack   *stackResult     `json:"stack,omitempty"`
	Memory  []memoryResult   `json:"memory"`
	Targets []target         `json:"targets"`
	Notes   []string         `json:"notes"`
	Phases  []phaseBreakdown `json:"berth_phases,omitempty"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "enginebench:", err)
		}
		return 2
	}
	out, err := benchmark(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "enginebench:", err)
		return 2
	}
	md := markdown(out)
	fmt.Fprint(stdout, md)
	if err := benchkit.WriteReports(o.mdPath, md, o.jsonPath, out); err != nil {
		fmt.Fprintln(stderr, "enginebench:", err)
		return 2
	}
	if o.enforce {
		for _, t := range out.Targets {
			if t.Result != "PASS" {
				return 1
			}
		}
	}
	return 0
}

// hostMeta labels the run with the machine it ran on; missing facts are
// left empty rather than failing the benchmark.
func hostMeta() runMeta {
	h := benchkit.ReadHost()
	return runMeta{Date: h.Date, CPU: h.CPU, CPUs: h.CPUs, Kernel: h.Kernel, GoVersion: h.GoVersion, Versions: map[string]string{}}
}

// outputOf runs a command for a version string; failures give "".
func outputOf(ctx context.Context, name string, args ...string) string {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// runCmd runs a setup command and returns its error with its output.
func runCmd(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(out, 3000))
	}
	return nil
}
