// Command loadgen puts steady HTTP load on one URL and says how many
// requests failed: run it against a published port while `berth deploy`
// rolls out a release to see that none did.
//
//	loadgen -url http://127.0.0.1:8080/version -c 8              # until Ctrl-C
//	loadgen -url http://127.0.0.1:8080/version -c 8 -duration 30s -json
//
// It exits 0 when every request got a 2xx answer, 1 when some did not and
// 2 on bad flags.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/berth-dev/berth/test/loadgen"
)

func main() {
	os.Exit(run())
}

func run() int {
	var o loadgen.Options
	var duration, progress time.Duration
	var asJSON bool
	flag.StringVar(&o.URL, "url", "", "URL to GET (required)")
	flag.IntVar(&o.Concurrency, "c", 8, "workers, each with one request in flight")
	flag.DurationVar(&duration, "duration", 0, "how long to run (0: until SIGINT or SIGTERM)")
	flag.DurationVar(&o.Interval, "interval", 0, "each worker's pause between requests")
	flag.Float64Var(&o.Rate, "rate", 0, "requests per second of all workers together (0: as fast as answered; not with -interval)")
	flag.DurationVar(&o.Timeout, "timeout", loadgen.DefaultTimeout, "timeout of one request")
	flag.DurationVar(&progress, "progress", 0, "print the running counts to stderr this often (0: never)")
	flag.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "loadgen: unexpected arguments %q\n", flag.Args())
		return 2
	}
	if duration < 0 || progress < 0 {
		fmt.Fprintln(os.Stderr, "loadgen: -duration and -progress must not be negative")
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	g, err := loadgen.Start(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if progress > 0 {
		tick := time.NewTicker(progress)
		defer tick.Stop()
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case <-tick.C:
				fmt.Fprintln(os.Stderr, g.Snapshot())
			}
		}
	} else {
		<-ctx.Done()
	}
	s := g.Stop()
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	} else {
		fmt.Println(s)
	}
	if s.Failed() > 0 {
		return 1
	}
	return 0
}
