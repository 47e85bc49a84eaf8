//go:build linux

// Command consolebench measures berth's web console against a real daemon
// running a stack of 50 services (issue 14's performance acceptance): the
// time to first byte of each page kind, and the daemon's CPU with live
// streams open against none.
//
//	go run ./bench/consolebench               # as root, about 9 minutes
//	go run ./bench/consolebench -quick        # smoke run, about a minute
//	go run ./bench/consolebench -md out.md -json out.json
//
// Setup (untimed): build berth; build busybox-static alone into an image
// with `berth build` (as test/engine and enginebench do); start `berth
// daemon --console 127.0.0.1:PORT --console-users FILE` (a bcrypt htpasswd
// file made here) with its own root, run directory and socket; `berth up`
// a stack of -services services of one replica each, every one printing
// 200 log lines and sleeping; wait until all run; log in through the login
// form (cookie jar, its CSRF token) as a browser does.
//
// First byte: -requests GETs of each page kind, one after another on a
// kept-alive connection, after 2 untimed ones, from just before the
// request is written until the response's first byte (httptrace), no
// stream open; median and p95. Page kinds: the stacks page (every
// service: the page with the 50 services), a service page (its replicas,
// revisions and the last 100 log lines), the same page filtered to one
// replica's logs (?replica=1, the logs view), and the image page (berth
// inspect's report of the stack's image).
//
// CPU: the daemon process's CPU time (utime+stime of /proc/PID/stat, every
// thread; not the shims or the proxy, which are other processes) over
// -window, as percent of one CPU, with no stream open (before and after
// the others; the median of those is the baseline) and with 1 and
// -subscribers browsers open on the stacks page (its stream) and on one
// service page (its three streams: live part, sparklines, logs), then
// -subscribers browsers each on another service's page. Every stream is
// read to the end by this program; the report counts the events.
//
// Targets (issue 14): first byte ≤50 ms for every page kind (judged on
// p95); a page's live streams add ≤1% of one CPU to the daemon, whatever
// the number of browsers on it (judged on every one-page case; the case
// of several services' pages is reported, not judged: each is its own
// work). Everything is taken down on exit, including on errors and
// SIGINT/SIGTERM: the stack before the daemon, then the directory.
//
// Exit status: 0 ran, 1 (with -enforce) a target was not met, 2 the run
// could not be done.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

type options struct {
	benchkit.Flags
	quick       bool
	services    int
	requests    int
	window      time.Duration
	subscribers int
	berthBin    string
	busybox     string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("consolebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.quick, "quick", false, "smoke run: 10 services, 5 requests per page, 5 s windows")
	fs.IntVar(&o.services, "services", 50, "services in the stack (one replica each)")
	fs.IntVar(&o.requests, "requests", 20, "timed requests per page kind")
	fs.DurationVar(&o.window, "window", time.Minute, "how long the daemon's CPU is measured per case")
	fs.IntVar(&o.subscribers, "subscribers", 5, "browsers open at once in the many-browsers cases")
	fs.StringVar(&o.berthBin, "berth-bin", "", "prebuilt berth binary (default: go build ./cmd/berth)")
	fs.StringVar(&o.busybox, "busybox", "/bin/busybox", "busybox-static, the containers' only binary")
	o.Register(fs, "daemon log, image, stack file")
	if err := benchkit.Parse(fs, args); err != nil {
		return o, err
	}
	if o.quick { // smaller defaults; flags given still win
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]any{"services": &o.services, "requests": &o.requests, "window": &o.window} {
			if set[name] {
				continue
			}
			switch p := v.(type) {
			case *int:
				*p = map[string]int{"services": 10, "requests": 5}[name]
			case *time.Duration:
				*p = 5 * time.Second
			}
		}
	}
	for name, v := range map[string]int{"-services": o.services, "-requests": o.requests, "-subscribers": o.subscribers} {
		if v < 1 {
			return o, fmt.Errorf("%s %d: need at least 1", name, v)
		}
	}
	if o.services > 200 {
		return o, fmt.Errorf("-services %d: at most 200 (one /24 network per stack)", o.services)
	}
	if o.window < time.Second || o.window > 10*time.Minute {
		return o, fmt.Errorf("-window %s: want 1s to 10m", o.window)
	}
	return o, nil
}

func main() { benchkit.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return benchkit.Run(ctx, "consolebench", args, stdout, stderr, parseFlags, bench)
}
