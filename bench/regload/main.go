// Command regload is a load generator for OCI distribution registries. It
// pushes 1 MiB blobs, pulls 1 MiB and 10 MiB blobs, resolves manifests by
// tag (HEAD and GET) and lists tags, each for a fixed time at a fixed
// concurrency, and reports throughput, latency percentiles and errors.
//
// It speaks plain HTTP through one tuned net/http transport so that, on the
// same machine, the server rather than the generator is the bottleneck; the
// report includes the generator's own CPU use to make that checkable.
//
//	go run ./bench/regload -url http://127.0.0.1:5000 -duration 10s
//
// Exit status: 0 all scenarios clean, 1 some scenario had errors (flagged),
// 2 bad flags or the setup failed (no measurements).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

// allScenarios lists every scenario in the order they run.
var allScenarios = []string{"push1m", "pull1m", "pull10m", "manifest-head", "manifest-get", "tags"}

type options struct {
	url         string
	concurrency int
	duration    time.Duration
	warmup      time.Duration
	scenarios   []string
	json        bool
	serverPID   int
	pullBlobs   int
	images      int
	tags        int
	repoPrefix  string
	timeout     time.Duration
	seed        uint64
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("regload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "", "registry base URL, e.g. http://127.0.0.1:5000 (required)")
	fs.IntVar(&o.concurrency, "concurrency", 16, "concurrent workers per scenario")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured run before each scenario")
	scen := fs.String("scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios to run: "+strings.Join(allScenarios, ","))
	fs.BoolVar(&o.json, "json", false, "print the report as JSON instead of a table")
	quick := fs.Bool("quick", false, "smoke run: 1s per scenario, no warm-up, 20 tags (overrides -duration, -warmup, -tags)")
	fs.IntVar(&o.serverPID, "server-pid", 0, "if set, report this local process's CPU and RSS per scenario (Linux /proc)")
	fs.IntVar(&o.pullBlobs, "pull-blobs", 4, "distinct blobs per size that the pull scenarios cycle through")
	fs.IntVar(&o.images, "images", 10, "distinct images behind the tags")
	fs.IntVar(&o.tags, "tags", 200, "tags in the image repository (manifest and tag-list scenarios)")
	fs.StringVar(&o.repoPrefix, "repo-prefix", "regload", "namespace for the repositories regload creates")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "per-request timeout")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the setup fixtures; a rerun with the same seed reuses what is stored")
	if err := benchkit.Parse(fs, args); err != nil {
		return o, err
	}
	if *quick {
		o.duration, o.warmup, o.tags = time.Second, 0, 20
	}
	if o.url == "" {
		return o, errors.New("-url is required")
	}
	if _, err := parseBaseURL(o.url); err != nil {
		return o, err
	}
	if o.concurrency < 1 {
		return o, fmt.Errorf("-concurrency %d: must be at least 1", o.concurrency)
	}
	if o.duration <= 0 {
		return o, fmt.Errorf("-duration %s: must be positive", o.duration)
	}
	if o.warmup < 0 {
		return o, fmt.Errorf("-warmup %s: must not be negative", o.warmup)
	}
	if o.pullBlobs < 1 || o.images < 1 || o.tags < 1 {
		return o, fmt.Errorf("-pull-blobs %d, -images %d, -tags %d: each must be at least 1", o.pullBlobs, o.images, o.tags)
	}
	for s := range strings.SplitSeq(*scen, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(allScenarios, s) {
			return o, fmt.Errorf("-scenarios: unknown scenario %q (known: %s)", s, strings.Join(allScenarios, ","))
		}
		if !slices.Contains(o.scenarios, s) {
			o.scenarios = append(o.scenarios, s)
		}
	}
	if len(o.scenarios) == 0 {
		return o, errors.New("-scenarios: no scenario selected")
	}
	return o, nil
}

func main() { benchkit.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return benchkit.Fail(stderr, "regload", err)
	}
	rep, err := bench(ctx, o, stderr)
	if err != nil {
		return benchkit.Fail(stderr, "regload", err)
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return benchkit.Fail(stderr, "regload", err)
		}
	} else {
		rep.writeText(stdout)
	}
	if rep.Flagged {
		return 1
	}
	return 0
}

// bench creates the fixtures the chosen scenarios need, then runs each
// scenario (warm-up, then measured phase) and collects the report.
func bench(ctx context.Context, o options, progress io.Writer) (*report, error) {
	c, err := newClient(o.url, o.concurrency, o.timeout)
	if err != nil {
		return nil, err
	}
	defer c.close()
	if o.serverPID > 0 {
		if _, err := procCPU(o.serverPID); err != nil {
			return nil, fmt.Errorf("-server-pid %d: %w", o.serverPID, err)
		}
	}
	if _, _, err := c.fetch(ctx, http.MethodGet, "/v2/", nil); err != nil {
		return nil, fmt.Errorf("registry not answering 200 on /v2/: %w", err)
	}

	rep := &report{
		Tool: "regload", URL: o.url, Concurrency: o.concurrency,
		DurationSeconds: o.duration.Seconds(), WarmupSeconds: o.warmup.Seconds(),
		ServerPID: o.serverPID,
	}
	f := &fixtures{blobRepo: o.repoPrefix + "/blobs", imageRepo: o.repoPrefix + "/images", seed: o.seed}
	setupStart := time.Now()
	if err := setup(ctx, c, f, o); err != nil {
		return nil, err
	}
	rep.Setup = setupOut{
		Seconds: time.Since(setupStart).Seconds(), PullBlobs: o.pullBlobs,
		Images: o.images, Tags: len(f.tags), Warnings: f.warnings,
	}

	for _, name := range o.scenarios {
		sc, err := newScenario(name, c, f, o.repoPrefix+"/push")
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "regload: %s: %s ...\n", o.url, name)
		if o.warmup > 0 {
			runPhase(ctx, sc, o.concurrency, o.warmup)
		}
		var sampler *rssSampler
		var serverCPU0, systemCPU0 time.Duration
		if o.serverPID > 0 {
			sampler = startRSSSampler(o.serverPID, 100*time.Millisecond)
			serverCPU0, _ = procCPU(o.serverPID)
			systemCPU0, _ = systemBusyCPU()
		}
		clientCPU0 := selfCPU()
		ps := runPhase(ctx, sc, o.concurrency, o.duration)
		clientCPU := selfCPU() - clientCPU0
		var serverCPU, systemCPU time.Duration
		var serverRSS int64
		if sampler != nil {
			if cpu1, err := procCPU(o.serverPID); err == nil {
				serverCPU = cpu1 - serverCPU0
			}
			if sys1, err := systemBusyCPU(); err == nil && systemCPU0 > 0 {
				systemCPU = sys1 - systemCPU0
			}
			serverRSS = sampler.finish()
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("interrupted during %s: %w", name, err)
		}
		r := newResult(sc, ps, clientCPU, serverCPU, systemCPU, o.serverPID, serverRSS)
		rep.Flagged = rep.Flagged || r.Flagged
		rep.Scenarios = append(rep.Scenarios, r)
	}
	if o.serverPID > 0 {
		if hwm, err := procStatusKB(o.serverPID, "VmHWM"); err == nil {
			rep.ServerVmHWMBytes = hwm
		}
	}
	return rep, nil
}

// setup creates only the fixtures the selected scenarios read.
func setup(ctx context.Context, c *client, f *fixtures, o options) error {
	var err error
	if slices.Contains(o.scenarios, "pull1m") {
		if f.pull1m, err = setupPullBlobs(ctx, c, f, 1<<20, o.pullBlobs); err != nil {
			return err
		}
	}
	if slices.Contains(o.scenarios, "pull10m") {
		if f.pull10m, err = setupPullBlobs(ctx, c, f, 10<<20, o.pullBlobs); err != nil {
			return err
		}
	}
	if slices.ContainsFunc(o.scenarios, func(s string) bool { return s == "manifest-head" || s == "manifest-get" || s == "tags" }) {
		want, err := setupImages(ctx, c, f, o.images, o.tags)
		if err != nil {
			return err
		}
		if err := checkImages(ctx, c, f, want); err != nil {
			return err
		}
	}
	return nil
}

// newScenario binds a scenario name to its operation. Workers start at
// different offsets in the blob and tag lists so they do not all hit the same
// object at once.
func newScenario(name string, c *client, f *fixtures, pushRepo string) (scenario, error) {
	accept := http.Header{"Accept": {manifestAccept}}
	pick := func(w *worker, n int) int { return int((uint64(w.id)*7 + w.seq) % uint64(n)) }
	switch name {
	case "push1m":
		gen, err := newBlobGen(1 << 20)
		if err != nil {
			return scenario{}, err
		}
		return scenario{name: name, bytesPerOp: 1 << 20, op: func(ctx context.Context, w *worker) error {
			b, err := gen.next()
			if err != nil {
				return err
			}
			return c.pushBlob(ctx, pushRepo, b.digest, b.reader())
		}}, nil
	case "pull1m", "pull10m":
		refs, size := f.pull1m, int64(1<<20)
		if name == "pull10m" {
			refs, size = f.pull10m, 10<<20
		}
		return scenario{name: name, bytesPerOp: size, op: func(ctx context.Context, w *worker) error {
			r := refs[pick(w, len(refs))]
			return c.getBlob(ctx, f.blobRepo, r.digest, r.size, w.buf)
		}}, nil
	case "manifest-head", "manifest-get":
		method := http.MethodHead
		if name == "manifest-get" {
			method = http.MethodGet
		}
		return scenario{name: name, op: func(ctx context.Context, w *worker) error {
			tag := f.tags[pick(w, len(f.tags))]
			_, _, err := c.fetch(ctx, method, "/v2/"+f.imageRepo+"/manifests/"+tag, accept)
			return err
		}}, nil
	case "tags":
		return scenario{name: name, op: func(ctx context.Context, w *worker) error {
			_, body, err := c.fetch(ctx, http.MethodGet, "/v2/"+f.imageRepo+"/tags/list", nil)
			if err == nil && len(body) == 0 {
				err = errors.New("GET tags/list: empty body")
			}
			return err
		}}, nil
	}
	return scenario{}, fmt.Errorf("unknown scenario %q", name)
}
