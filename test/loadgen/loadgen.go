// Package loadgen sends HTTP GETs to one URL from several workers and counts
// what comes back: the load under which the deploy acceptance tests, bench/
// and the demo check that a rolling release loses no request.
//
// A worker runs one request at a time over a keep-alive connection, so a
// proxy that closes idle upstream connections or drops a backend mid-request
// shows up as a connection error here, not as silently re-dialled luck.
// Stopping lets requests in flight finish (bounded by Options.Timeout): a
// request cut off by the test itself must not count as a failure of the
// system under test.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	// Timeout bounds one request, body included (default 10 s). A request
	// that takes longer counts as a connection error.
	Timeout time.Duration
}

// DefaultTimeout is Options.Timeout's default.
const DefaultTimeout = 10 * time.Second

// maxConcurrency keeps a typo (-c 100000) from exhausting file descriptors.
const maxConcurrency = 10000

func (o *Options) validate() error {
	if o.URL == "" {
		return errors.New("loadgen: URL is required")
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return fmt.Errorf("loadgen: URL %q: %w", o.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("loadgen: URL %q: scheme must be http or https", o.URL)
	}
	if u.Host == "" {
		return fmt.Errorf("loadgen: URL %q has no host", o.URL)
	}
	if o.Concurrency < 0 || o.Concurrency > maxConcurrency {
		return fmt.Errorf("loadgen: concurrency %d out of range 1..%d", o.Concurrency, maxConcurrency)
	}
	if o.Concurrency == 0 {
		o.Concurrency = 1
	}
	if o.Interval < 0 {
		return fmt.Errorf("loadgen: interval %s is negative", o.Interval)
	}
	if o.Timeout < 0 {
		return fmt.Errorf("loadgen: timeout %s is negative", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	return nil
}

// Generator is a running load. Its Stats are live: read them with
// Snapshot while it runs.
type Generator struct {
	Stats *Stats

	opts   Options
	client *http.Client
	stop   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

// Start validates o and starts the workers; they run until ctx is done or
// Stop is called.
func Start(ctx context.Context, o Options) (*Generator, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// One idle connection per worker, kept: every worker reuses its own.
	tr.MaxIdleConns = o.Concurrency
	tr.MaxIdleConnsPerHost = o.Concurrency
	tr.DisableCompression = true
	g := &Generator{
		Stats:  newStats(),
		opts:   o,
		client: &http.Client{Transport: tr, Timeout: o.Timeout},
		stop:   make(chan struct{}),
	}
	for i := 0; i < o.Concurrency; i++ {
		g.wg.Add(1)
		go g.worker()
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
	g.client.CloseIdleConnections()
	g.Stats.finish()
	return g.Stats.Snapshot()
}

func (g *Generator) halt() { g.once.Do(func() { close(g.stop) }) }

func (g *Generator) worker() {
	defer g.wg.Done()
	var pause *time.Timer
	if g.opts.Interval > 0 {
		pause = time.NewTimer(g.opts.Interval)
		defer pause.Stop()
	}
	for {
		select {
		case <-g.stop:
			return
		default:
		}
		g.Stats.record(fetch(g.client, g.opts.URL))
		if pause != nil {
			pause.Reset(g.opts.Interval)
			select {
			case <-g.stop:
				return
			case <-pause.C:
			}
		}
	}
}
