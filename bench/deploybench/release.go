//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
	"github.com/berth-dev/berth/test/loadgen"
)

// A release under steady load: the load starts, runs for -settle, the
// release command runs (timed), the load goes on for -settle more; every
// failed request in that window counts against the release. The load is
// test/loadgen's: every request is sent once, on a keep-alive connection,
// and a non-2xx answer or a connection error both count, as with wrk. Then one more
// second of load shows which version answers afterwards.

const releaseStack = "dbrel"

type releaseResult struct {
	Tool    string  `json:"tool"` // berth, compose
	Round   int     `json:"round"`
	From    string  `json:"from"`
	To      string  `json:"to"`
	Command string  `json:"command"`
	Seconds float64 `json:"seconds"` // the release command's wall time
	// Window is how long the counted load ran: settle + command + settle.
	Window float64          `json:"window_seconds"`
	Counts loadgen.Snapshot `json:"counts"`
	// After are the versions that answered in the second after the window:
	// only To once the release is complete.
	After map[string]int64 `json:"after_versions"`
	Error string           `json:"error,omitempty"` // the command failed (berth: rolled back)
}

// complete reports whether the release ended with only the new version
// answering.
func (r releaseResult) complete() bool {
	return r.Error == "" && len(r.After) == 1 && r.After[r.To] > 0
}

// underLoad runs do in the middle of a steady load against addr.
func underLoad(ctx context.Context, o options, addr string, r *releaseResult, do func(context.Context) error) error {
	l, err := loadgen.Start(ctx, loadgen.Options{URL: "http://" + addr + benchPath("goapp"), Concurrency: o.workers, Rate: o.rate})
	if err != nil {
		return err
	}
	defer l.Stop()
	start := time.Now()
	if err := pause(ctx, o.settle); err != nil {
		return err
	}
	t0 := time.Now()
	if err := do(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.Error = err.Error()
	}
	r.Seconds = time.Since(t0).Seconds()
	if err := pause(ctx, o.settle); err != nil {
		return err
	}
	r.Counts = l.Snapshot()
	r.Window = time.Since(start).Seconds()
	if err := pause(ctx, time.Second); err != nil {
		return err
	}
	r.After = l.Stop().Sub(r.Counts).Versions
	return nil
}

// pause waits d: the load's measurement window, not a synchronisation.
func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// berthRelease is the berth side: the stack file names the image, a
// release rewrites it and runs `berth deploy`.
type berthRelease struct {
	bd   *berthDaemon
	file string
	port int
}

func (b *berthRelease) write(version string, im *images) error {
	yaml := "name: " + releaseStack + "\nservices:\n  app:\n" + proxyServiceYAML(im.berthRef(version), 3, b.port)
	return os.WriteFile(b.file, []byte(yaml), 0o644)
}

func (b *berthRelease) addr() string { return fmt.Sprintf("127.0.0.1:%d", b.port) }

func (b *berthRelease) deployArgs() []string {
	return []string{"deploy", "-f", b.file, "--timeout", "5m"}
}

// startBerthRelease deploys the first version of the 3-replica stack.
func startBerthRelease(ctx context.Context, bd *berthDaemon, im *images, dir string) (*berthRelease, error) {
	port, err := benchkit.FreePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	b := &berthRelease{bd: bd, file: filepath.Join(dir, "release.yaml"), port: port}
	if err := b.write(appVersions[0], im); err != nil {
		return nil, err
	}
	if _, err := bd.run(ctx, b.deployArgs()...); err != nil {
		return nil, err
	}
	return b, waitHTTP(ctx, "http://"+b.addr()+benchPath("goapp"), 60*time.Second)
}

func (b *berthRelease) release(ctx context.Context, o options, im *images, from, to string) (releaseResult, error) {
	r := releaseResult{Tool: "berth", From: from, To: to, Command: "berth deploy -f release.yaml"}
	if err := b.write(to, im); err != nil {
		return r, err
	}
	err := underLoad(ctx, o, b.addr(), &r, func(ctx context.Context) error {
		_, err := b.bd.run(ctx, b.deployArgs()...)
		return err
	})
	return r, err
}
