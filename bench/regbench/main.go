// Command regbench compares berth's registry with CNCF distribution on this
// machine. It builds berth and bench/regload, starts each registry in turn on
// a free loopback port with its storage in a temporary directory, runs the
// same regload scenarios against it, records its peak RSS, stops it, and
// prints a side-by-side Markdown table with berth ÷ distribution ratios and
// the targets (PASS/FAIL).
//
//	go run ./bench/regbench                  # full run, about 2.5 minutes
//	go run ./bench/regbench -quick           # smoke run, 1 s per scenario
//	go run ./bench/regbench -md out.md -json out.json
//
// Both servers run for the whole benchmark, but only one is under load at a
// time; scenarios alternate between them so background noise hits both
// alike. Exit status: 0 ran cleanly,
// 1 a scenario had errors or (with -enforce) a target failed, 2 the run
// could not be done.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

type options struct {
	benchkit.Flags
	quick       bool
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	scenarios   string
	servers     []string
	registryBin string
	berthBin    string
	berthArgs   []string
	rounds      int
	prewarmGiB  int
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("regbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.quick, "quick", false, "smoke run: 1s per scenario, no warm-up, 20 tags")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario per server")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured run before each scenario")
	fs.IntVar(&o.concurrency, "concurrency", 16, "concurrent clients")
	fs.StringVar(&o.scenarios, "scenarios", "push1m,pull1m,pull10m,manifest-head,manifest-get,tags", "regload scenarios to run")
	servers := fs.String("servers", "distribution,berth", "registries to run, in order (distribution, berth)")
	fs.StringVar(&o.registryBin, "registry-bin", "/usr/bin/docker-registry", "CNCF distribution binary (Debian package docker-registry)")
	fs.StringVar(&o.berthBin, "berth-bin", "", "prebuilt berth binary (default: go build ./cmd/berth)")
	berthArgs := fs.String("berth-args", "", "extra space-separated arguments for `berth registry serve`")
	fs.IntVar(&o.rounds, "rounds", 1, "run every scenario this many times per server and report the median round")
	fs.IntVar(&o.prewarmGiB, "prewarm-gib", 6, "touch this many GiB of fresh memory before each push run, for every server alike (0: off); see prewarm.go")
	o.Register(fs, "server logs and storage")
	if err := benchkit.Parse(fs, args); err != nil {
		return o, err
	}
	for s := range strings.SplitSeq(*servers, ",") {
		s = strings.TrimSpace(s)
		if s != "distribution" && s != "berth" {
			return o, fmt.Errorf("-servers: unknown server %q (known: distribution, berth)", s)
		}
		if slices.Contains(o.servers, s) {
			return o, fmt.Errorf("-servers: %q listed twice", s)
		}
		o.servers = append(o.servers, s)
	}
	o.berthArgs = strings.Fields(*berthArgs)
	if o.concurrency < 1 || o.duration <= 0 || o.warmup < 0 || o.rounds < 1 {
		return o, fmt.Errorf("-concurrency %d, -duration %s, -warmup %s, -rounds %d: need concurrency ≥ 1, duration > 0, warmup ≥ 0, rounds ≥ 1",
			o.concurrency, o.duration, o.warmup, o.rounds)
	}
	return o, nil
}

func main() { benchkit.Main(run) }

// runMeta describes the run for the report header and JSON.
type runMeta struct {
	benchkit.Host
	Concurrency     int     `json:"concurrency"`
	DurationSeconds float64 `json:"duration_seconds"`
	WarmupSeconds   float64 `json:"warmup_seconds"`
	PullBlobs       int     `json:"pull_blobs_per_size"`
	Images          int     `json:"images"`
	Tags            int     `json:"tags"`
	Rounds          int     `json:"rounds"`
	PrewarmGiB      int     `json:"prewarm_gib"`
}

// output is the -json file: everything the Markdown shows and more.
type output struct {
	Meta    runMeta        `json:"meta"`
	Servers []serverResult `json:"servers"`
	Rows    []row          `json:"rows"`
	Targets []target       `json:"targets"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return benchkit.Run(ctx, "regbench", args, stdout, stderr, parseFlags, func(ctx context.Context, o options, progress io.Writer) (benchkit.Result, error) {
		out, err := benchmark(ctx, o, progress)
		if err != nil {
			return benchkit.Result{}, err
		}
		return benchkit.Result{
			Markdown: markdown(out.Meta, out.Servers, out.Rows, out.Targets),
			Data:     out,
			Missed:   slices.ContainsFunc(out.Targets, func(t target) bool { return t.Result != "PASS" }),
			Flagged:  slices.ContainsFunc(out.Servers, func(s serverResult) bool { return s.Load.Flagged }),
		}, nil
	})
}

// benchmark builds the binaries, then starts, loads and stops each server in
// turn. Servers are stopped and the temporary directory removed on every
// return path, including interrupts.
func benchmark(ctx context.Context, o options, progress io.Writer) (*output, error) {
	root, err := benchkit.ModuleRoot(ctx, "regbench")
	if err != nil {
		return nil, err
	}
	tmp, cleanup, err := benchkit.WorkDir("", "regbench", o.Keep, progress)
	if err != nil {
		return nil, err
	}
	defer cleanup()

	regload := filepath.Join(tmp, "bin", "regload")
	if err := benchkit.GoBuild(ctx, root, regload, "./bench/regload"); err != nil {
		return nil, err
	}
	var specs []serverSpec
	for _, name := range o.servers {
		switch name {
		case "distribution":
			if _, err := os.Stat(o.registryBin); err != nil {
				return nil, fmt.Errorf("-registry-bin %s: %w (install Debian package docker-registry)", o.registryBin, err)
			}
			specs = append(specs, distributionSpec(o.registryBin))
		case "berth":
			bin := o.berthBin
			if bin == "" {
				bin = filepath.Join(tmp, "bin", "berth")
				if err := benchkit.GoBuild(ctx, root, bin, "./cmd/berth"); err != nil {
					return nil, err
				}
			}
			specs = append(specs, berthSpec(bin, o.berthArgs))
		}
	}

	loadArgs := []string{"-json", "-concurrency", fmt.Sprint(o.concurrency)}
	if o.quick {
		loadArgs = append(loadArgs, "-quick")
	} else {
		loadArgs = append(loadArgs, "-duration", o.duration.String(), "-warmup", o.warmup.String())
	}

	// All servers run for the whole benchmark, but only one is under load at
	// a time: each scenario runs against every server before the next, in
	// alternating order (A B, B A, ...), so a noisy neighbour or a warming
	// page cache affects every server alike.
	var running []*runningServer
	defer func() {
		for _, srv := range running {
			srv.stop()
		}
	}()
	for _, spec := range specs {
		dir := filepath.Join(tmp, spec.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "regbench: starting %s\n", spec.name)
		srv, err := startServer(ctx, spec, dir)
		if err != nil {
			return nil, err
		}
		running = append(running, srv)
	}
	results := make([]serverResult, len(running))
	for i, srv := range running {
		results[i] = serverResult{Name: srv.spec.name, Description: srv.spec.description}
	}
	var scenarios []string
	for scen := range strings.SplitSeq(o.scenarios, ",") {
		if scen = strings.TrimSpace(scen); scen != "" {
			scenarios = append(scenarios, scen)
		}
	}
	// reps[i][n] holds server i's reports for scenario n, one per round.
	reps := make([][][]*loadReport, len(running))
	for i := range reps {
		reps[i] = make([][]*loadReport, len(scenarios))
	}
	step := 0
	for round := range o.rounds {
		for n, scen := range scenarios {
			for k := range running {
				i := k
				if step%2 == 1 {
					i = len(running) - 1 - k
				}
				fmt.Fprintf(progress, "regbench: round %d/%d: %s on %s\n", round+1, o.rounds, scen, running[i].spec.name)
				if strings.HasPrefix(scen, "push") {
					prewarm(o.prewarmGiB)
				}
				args := append([]string{"-scenarios", scen}, loadArgs...)
				rep, err := runLoad(ctx, running[i], regload, args)
				if err != nil {
					return nil, err
				}
				reps[i][n] = append(reps[i][n], rep)
			}
			step++
		}
	}
	for i := range running {
		for n := range scenarios {
			results[i].Load.merge(pickMedian(reps[i][n]))
			for _, rep := range reps[i][n] {
				results[i].Load.mergeWarnings(rep)
				if o.rounds > 1 && len(rep.Scenarios) == 1 {
					results[i].Rounds = append(results[i].Rounds, rep.Scenarios[0])
				}
			}
		}
	}
	for i, srv := range running {
		var err error
		if results[i].PeakRSSBytes, err = srv.peakRSS(); err != nil {
			return nil, err
		}
		if results[i].Load.Flagged {
			results[i].ServerLogTail = srv.LogTail()
		}
	}

	meta := runMeta{Host: benchkit.ReadHost()}
	meta.Rounds = o.rounds
	meta.PrewarmGiB = o.prewarmGiB
	if len(results) > 0 {
		l := results[0].Load
		meta.Concurrency, meta.DurationSeconds, meta.WarmupSeconds = l.Concurrency, l.DurationSeconds, l.WarmupSeconds
		meta.PullBlobs, meta.Images, meta.Tags = l.Setup.PullBlobs, l.Setup.Images, l.Setup.Tags
	}
	var order []string
	for _, r := range results {
		for _, s := range r.Load.Scenarios {
			if !slices.Contains(order, s.Name) {
				order = append(order, s.Name)
			}
		}
	}
	return &output{Meta: meta, Servers: results, Rows: buildRows(results, order), Targets: judgeTargets(results)}, nil
}

// runLoad runs regload once against a running server and parses its report.
func runLoad(ctx context.Context, srv *runningServer, regload string, loadArgs []string) (*loadReport, error) {
	args := append([]string{"-url", srv.url, "-server-pid", fmt.Sprint(srv.Pid())}, loadArgs...)
	cmd := exec.CommandContext(ctx, regload, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = benchkit.ChildProcAttr()
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted while loading %s: %w", srv.spec.name, ctx.Err())
	}
	select {
	case <-srv.Exited():
		return nil, fmt.Errorf("%s: %w (%v); log:\n%s", srv.spec.name, errServerDied, srv.WaitErr(), srv.LogTail())
	default:
	}
	var exitErr *exec.ExitError
	if runErr != nil && !(errors.As(runErr, &exitErr) && exitErr.ExitCode() == 1) {
		// Exit 1 means "ran, some scenario had errors": still a report.
		return nil, fmt.Errorf("regload against %s: %v\n%s\nserver log:\n%s", srv.spec.name, runErr, stderr.String(), srv.LogTail())
	}
	var rep loadReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return nil, fmt.Errorf("regload against %s printed no JSON report: %w\n%s", srv.spec.name, err, stderr.String())
	}
	return &rep, nil
}
