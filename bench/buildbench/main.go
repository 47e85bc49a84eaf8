// Command buildbench builds the same image (examples/goapp: a Go web app on a
// distroless-like Debian base made from .deb packages) with `berth build`,
// with `go build` + `docker build` (Debian docker.io, a private dockerd) and
// with `ko build`, in one run, and prints a side-by-side Markdown table of
// build times and image sizes with ratios and the targets.
//
//	go run ./bench/buildbench                  # full run, 3 rounds, a few minutes
//	go run ./bench/buildbench -quick           # smoke run, 1 round
//	go run ./bench/buildbench -md out.md -json out.json
//
// Steps (each tool, each round, tools in alternating order):
//
//	cold          build caches empty, Go build cache warm, base image present
//	cold-empty    berth only: BERTH_CACHE empty, base built from .debs too
//	noop          the same build again, nothing changed
//	static+push   static/index.html changed, rebuild and push
//	main.go+push  a string in main.go changed, rebuild and push
//
// Exit status: 0 ran, 1 (with -enforce) a target was not met, 2 the run
// could not be done.
package main

import (
	"github.com/berth-dev/berth/bench/internal/benchkit"
	"github.com/berth-dev/berth/test/fixtures"

	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

type options struct {
	benchkit.Flags
	quick         bool
	rounds        int
	tools         []string
	berthBin      string
	dockerBin     string
	dockerdBin    string
	dockerStorage string
	builder       string // buildkit or classic
	koBin         string
	aptRepo       string
}

var knownTools = []string{"berth", "docker", "ko"}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("buildbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	aptRepo, _ := fixtures.AptRepoDir() // "" without a user cache directory
	fs.BoolVar(&o.quick, "quick", false, "smoke run: 1 round")
	fs.IntVar(&o.rounds, "rounds", 3, "measure every step this many times per tool and report the median")
	tools := fs.String("tools", "berth,docker,ko", "tools to compare (berth, docker, ko); berth is always included")
	fs.StringVar(&o.berthBin, "berth-bin", "", "prebuilt berth binary (default: go build ./cmd/berth)")
	fs.StringVar(&o.dockerBin, "docker-bin", "/usr/bin/docker", "docker CLI (Debian docker.io; a newer client elsewhere in PATH would not be the packaged one)")
	fs.StringVar(&o.dockerdBin, "dockerd-bin", "/usr/sbin/dockerd", "dockerd (Debian docker.io)")
	fs.StringVar(&o.dockerStorage, "docker-storage", "overlay2", "dockerd storage driver (overlay2 or vfs)")
	fs.StringVar(&o.builder, "docker-builder", "buildkit", "docker builder: buildkit (DOCKER_BUILDKIT=1) or classic (DOCKER_BUILDKIT=0)")
	fs.StringVar(&o.koBin, "ko-bin", "", "ko binary (default: bin/ko, then ko in PATH, else go install "+koModule+" into bin/)")
	fs.StringVar(&o.aptRepo, "aptrepo", aptRepo, "local apt repository (made by scripts/aptrepo.sh if incomplete)")
	o.Register(fs, "workspaces, caches, logs")
	if err := benchkit.Parse(fs, args); err != nil {
		return o, err
	}
	if o.quick {
		o.rounds = 1
	}
	if o.rounds < 1 {
		return o, fmt.Errorf("-rounds %d: need at least 1", o.rounds)
	}
	if o.builder != "buildkit" && o.builder != "classic" {
		return o, fmt.Errorf("-docker-builder %q: want buildkit or classic", o.builder)
	}
	if o.dockerStorage != "overlay2" && o.dockerStorage != "vfs" {
		return o, fmt.Errorf("-docker-storage %q: want overlay2 or vfs", o.dockerStorage)
	}
	o.tools = []string{"berth"}
	for t := range strings.SplitSeq(*tools, ",") {
		t = strings.TrimSpace(t)
		switch t {
		case "berth", "":
		case "docker", "ko":
			if !slices.Contains(o.tools, t) {
				o.tools = append(o.tools, t)
			}
		default:
			return o, fmt.Errorf("-tools: unknown tool %q (known: %s)", t, strings.Join(knownTools, ", "))
		}
	}
	return o, nil
}

func main() { benchkit.Main(run) }

// runMeta describes the run for the report header and JSON.
type runMeta struct {
	benchkit.Host
	Rounds    int               `json:"rounds"`
	Versions  map[string]string `json:"versions"`
	Setup     []string          `json:"setup"` // how each tool was run, one line each
	SetupSecs float64           `json:"setup_seconds"`
	TotalSecs float64           `json:"total_seconds"`
}

// output is the -json file.
type output struct {
	Meta    runMeta            `json:"meta"`
	Tools   []string           `json:"tools"`
	Steps   []stepResult       `json:"steps"`
	Sizes   map[string]imgSize `json:"sizes"`
	Targets []target           `json:"targets"`
	Notes   []string           `json:"notes"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return benchkit.Run(ctx, "buildbench", args, stdout, stderr, parseFlags, func(ctx context.Context, o options, progress io.Writer) (benchkit.Result, error) {
		out, err := benchmark(ctx, o, progress)
		if err != nil {
			return benchkit.Result{}, err
		}
		missed := slices.ContainsFunc(out.Targets, func(t target) bool { return t.Result != "PASS" })
		return benchkit.Result{Markdown: markdown(out), Data: out, Missed: missed}, nil
	})
}
