// Package loadgen sends HTTP GETs to one URL from several workers and counts
// what comes back: the load under which the deploy acceptance tests, bench/
// and the demo check that a rolling release loses no request.
//
// A worker runs one request at a time over its own keep-alive HTTP/1.1
// connection and never sends a request twice (see fetch.go), so a proxy
// that resets connections or drops a backend mid-request shows up as a
// connection error here, not as silently re-sent luck. Workers either send
// as fast as the answers come, pause between requests (Interval) or keep a
// steady total rate (Rate). Stopping lets requests in flight finish (bounded
// by Options.Timeout): a request cut off by the test itself must not count
// as a failure of the system under test.
package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sync"
	"time"
)

// Options configure a load run.
type Options struct {
	// URL is fetched with GET by every worker (http or https).
	URL string
	// Concurrency is the number of workers, each with one request in
	// flight at a time (default 1).
	Concurrency int
	// Interval is each worker's pause between two requests (0: none).
	Interval time.Duration
	// Rate, if set, is the requests per second of all workers together:
	// each worker sends on a fixed schedule, Concurrency/Rate seconds
	// apart, the workers' schedules spread over one such period so the
	// requests do not come in bursts. A worker that fell more than a
	// second behind (a stall) starts afresh rather than bursting to catch
	// up. Not together with Interval.
	Rate float64
	// Timeout bounds one request, dial and body included (default 10 s).
	// A request that takes longer counts as a connection error.
	Timeout time.Duration

	// tlsConfig replaces the default (system roots) for https; tests set
	// it to trust their own server.
	tlsConfig *tls.Config
}

// DefaultTimeout is Options.Timeout's default.
const DefaultTimeout = 10 * time.Second

// maxConcurrency keeps a typo (-c 100000) from exhausting file descriptors.
const maxConcurrency = 10000

func (o *Options) validate() (*url.URL, error) {
	if o.URL == "" {
		return nil, errors.New("loadgen: URL is required")
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("loadgen: URL %q: %w", o.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("loadgen: URL %q: scheme must be http or https", o.URL)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("loadgen: URL %q has no host", o.URL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("loadgen: URL %q: user info is not supported", o.URL)
	}
	if o.Concurrency < 0 || o.Concurrency > maxConcurrency {
		return nil, fmt.Errorf("loadgen: concurrency %d out of range 1..%d", o.Concurrency, maxConcurrency)
	}
	if o.Concurrency == 0 {
		o.Concurrency = 1
	}
	if o.Interval < 0 {
		return nil, fmt.Errorf("loadgen: interval %s is negative", o.Interval)
	}
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return nil, fmt.Errorf("loadgen: rate %g is not a finite number ≥ 0", o.Rate)
	}
	if o.Rate > 0 && o.Interval > 0 {
		return nil, fmt.Errorf("loadgen: interval %s and rate %g/s: set one, not both", o.Interval, o.Rate)
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("loadgen: timeout %s is negative", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	return u, nil
}

// Generator is a running load. Its Stats are live: read them with
// Snapshot while it runs.
type Generator struct {
	Stats *Stats

	opts   Options
	target *target
	period time.Duration // between two sends of one worker with Rate
	stop   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

// Start validates o and starts the workers; they run until ctx is done or
// Stop is called.
func Start(ctx context.Context, o Options) (*Generator, error) {
	u, err := o.validate()
	if err != nil {
		return nil, err
	}
	g := &Generator{
		Stats:  newStats(),
		opts:   o,
		target: newTarget(u, o.tlsConfig),
		stop:   make(chan struct{}),
	}
	if o.Rate > 0 {
		g.period = time.Duration(float64(o.Concurrency) / o.Rate * float64(time.Second))
	}
	now := time.Now()
	for i := 0; i < o.Concurrency; i++ {
		g.wg.Add(1)
		go g.worker(now.Add(g.period * time.Duration(i) / time.Duration(o.Concurrency)))
	}
	go func() {
		select {
		case <-ctx.Done():
			g.halt()
		case <-g.stop:
		}
	}()
	return g, nil
}

// Run is Start followed by waiting until ctx is done; it returns the final
// counts.
func Run(ctx context.Context, o Options) (Snapshot, error) {
	g, err := Start(ctx, o)
	if err != nil {
		return Snapshot{}, err
	}
	<-ctx.Done()
	return g.Stop(), nil
}

// Snapshot returns the counts so far.
func (g *Generator) Snapshot() Snapshot { return g.Stats.Snapshot() }

// Stop stops the workers, waits for the requests in flight to finish (at
// most Options.Timeout) and returns the final counts. It may be called more
// than once.
func (g *Generator) Stop() Snapshot {
	g.halt()
	g.wg.Wait()
	g.Stats.finish()
	return g.Stats.Snapshot()
}

func (g *Generator) halt() { g.once.Do(func() { close(g.stop) }) }

// worker sends its first request at first, then as Interval or Rate say.
func (g *Generator) worker(first time.Time) {
	defer g.wg.Done()
	c := &client{t: g.target, timeout: g.opts.Timeout}
	defer c.close()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	next := first
	for {
		if d := time.Until(next); d > 0 {
			timer.Reset(d)
			select {
			case <-g.stop:
				return
			case <-timer.C:
			}
		} else {
			select {
			case <-g.stop:
				return
			default:
			}
		}
		g.Stats.record(c.fetch())
		switch {
		case g.period > 0:
			next = next.Add(g.period)
			if time.Since(next) > time.Second {
				next = time.Now() // a stall: do not burst to catch up
			}
		case g.opts.Interval > 0:
			next = time.Now().Add(g.opts.Interval)
		}
	}
}
