//go:build linux

// Command deploybench measures berth's proxy and `berth deploy` against the
// tools a team uses on one host today, in one run:
//
//   - proxy throughput: one backend (examples/goapp, built with berth build,
//     run by the berth daemon) reached three ways with the same wrk command
//     (`wrk -t2 -c64 -d10s --latency`): straight to the container's address,
//     through berth's proxy (the published port) and through Debian's nginx
//     as a reverse proxy; rounds interleaved, medians, ratios to nginx;
//
//   - a release of 3 replicas under a steady load: wall time and failed
//     requests of `berth deploy` vs `docker-compose up -d` with a new image
//     tag (Debian docker-compose 1.29 + docker.io, the app behind an nginx
//     container).
//
//     go run ./bench/deploybench                  # as root, a few minutes
//     go run ./bench/deploybench -quick           # smoke run
//     go run ./bench/deploybench -md out.md -json out.json
//
// Exit status: 0 ran, 1 (with -enforce) a target was not met, 2 the run
// could not be done.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
	"github.com/berth-dev/berth/test/fixtures"
)

type options struct {
	benchkit.Flags
	quick      bool
	parts      []string // proxy, release
	rounds     int
	duration   time.Duration
	threads    int
	conns      int
	releases   int
	workers    int
	rate       float64
	settle     time.Duration
	berthBin   string
	wrkBin     string
	nginxBin   string
	dockerBin  string
	dockerdBin string
	composeBin string
	aptRepo    string
	backend    string // goapp or nginx: what the throughput paths reach
}

var knownParts = []string{"proxy", "release"}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	aptRepo, _ := fixtures.AptRepoDir() // "" without a user cache directory
	fs := flag.NewFlagSet("deploybench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.quick, "quick", false, "smoke run: 1 round of 3 s, 1 release per tool")
	parts := fs.String("parts", "proxy,release", "what to measure: proxy (throughput), release (deploy under load)")
	fs.StringVar(&o.backend, "backend", "goapp", "throughput backend: goapp (GET /version, a small dynamic answer) or nginx (the nginx example, GET / of a static page)")
	fs.IntVar(&o.rounds, "rounds", 3, "interleaved wrk rounds per path (median reported)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "wrk duration per run (whole seconds)")
	fs.IntVar(&o.threads, "threads", 2, "wrk threads (-t)")
	fs.IntVar(&o.conns, "connections", 64, "wrk connections (-c)")
	fs.IntVar(&o.releases, "releases", 3, "releases per tool, alternating v1→v2 and v2→v1")
	fs.IntVar(&o.workers, "load-workers", 16, "keep-alive connections of the steady load during a release")
	fs.Float64Var(&o.rate, "load-rate", 400, "steady load in requests/s, all workers together (0: unpaced)")
	fs.DurationVar(&o.settle, "settle", 3*time.Second, "load before and after each release, counted with it")
	fs.StringVar(&o.berthBin, "berth-bin", "", "berth binary (default: bin/berth of the repository if present, else go build ./cmd/berth)")
	fs.StringVar(&o.wrkBin, "wrk-bin", "/usr/bin/wrk", "wrk (Debian's)")
	fs.StringVar(&o.nginxBin, "nginx-bin", "/usr/sbin/nginx", "nginx (Debian's) for the reverse-proxy comparison")
	fs.StringVar(&o.dockerBin, "docker-bin", "/usr/bin/docker", "docker CLI (Debian docker.io)")
	fs.StringVar(&o.dockerdBin, "dockerd-bin", "/usr/sbin/dockerd", "dockerd (Debian docker.io)")
	fs.StringVar(&o.composeBin, "compose-bin", "/usr/bin/docker-compose", "docker-compose (Debian's 1.29)")
	fs.StringVar(&o.aptRepo, "aptrepo", aptRepo, "local apt repository of scripts/aptrepo.sh (the app's Debian packages)")
	o.Register(fs, "logs, stack files")
	if err := benchkit.Parse(fs, args); err != nil {
		return o, err
	}
	if o.quick {
		o.rounds, o.duration, o.releases = 1, 3*time.Second, 1
	}
	for name, v := range map[string]int{"-rounds": o.rounds, "-threads": o.threads, "-connections": o.conns, "-releases": o.releases, "-load-workers": o.workers} {
		if v < 1 {
			return o, fmt.Errorf("%s %d: need at least 1", name, v)
		}
	}
	if o.duration < time.Second || o.duration%time.Second != 0 {
		return o, fmt.Errorf("-duration %s: wrk takes whole seconds, at least 1s", o.duration)
	}
	if o.conns < o.threads {
		return o, fmt.Errorf("-connections %d: wrk needs at least one per thread (-threads %d)", o.conns, o.threads)
	}
	if o.backend != "goapp" && o.backend != "nginx" {
		return o, fmt.Errorf("-backend %q: want goapp or nginx", o.backend)
	}
	if o.rate < 0 {
		return o, fmt.Errorf("-load-rate %g: must not be negative", o.rate)
	}
	if o.settle < 0 {
		return o, fmt.Errorf("-settle %s: must not be negative", o.settle)
	}
	for p := range strings.SplitSeq(*parts, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(knownParts, p) {
			return o, fmt.Errorf("-parts: unknown part %q (known: %s)", p, strings.Join(knownParts, ", "))
		}
		if !slices.Contains(o.parts, p) {
			o.parts = append(o.parts, p)
		}
	}
	return o, nil
}

func main() { benchkit.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return benchkit.Run(ctx, "deploybench", args, stdout, stderr, parseFlags, func(ctx context.Context, o options, progress io.Writer) (benchkit.Result, error) {
		out, err := benchmark(ctx, o, progress)
		if err != nil {
			return benchkit.Result{}, err
		}
		missed := slices.ContainsFunc(out.Targets, func(t target) bool { return t.Result != "PASS" })
		return benchkit.Result{Markdown: markdown(out), Data: out, Missed: missed}, nil
	})
}
