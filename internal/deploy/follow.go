package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Follow shows a deploy, rollback or ship as the daemon streams it: one
// progress line per event on stderr, then what each service runs now on
// stdout (a table, with the time taken on stderr, or with asJSON one
// document with the error, if any). send streams the lines; a failed
// rollout is returned as an error after the report. short shortens digests.
func Follow(send func(func(StreamLine) error) error, stdout, stderr io.Writer, asJSON bool, short func(string) string) error {
	var rep Report
	var failed string
	start := time.Now()
	err := send(func(line StreamLine) error {
		if e := line.Event; e != nil {
			fmt.Fprintln(stderr, FormatEvent(*e, time.Since(start)))
		}
		if line.Report != nil {
			rep, failed = *line.Report, line.Failed
		}
		return nil
	})
	if err != nil {
		return err
	}
	if asJSON {
		out := struct {
			Report
			Error string `json:"error,omitempty"`
		}{rep, failed}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		WriteReport(stdout, rep, short)
		fmt.Fprintf(stderr, "took %.1fs\n", time.Since(start).Seconds())
	}
	if failed != "" {
		return fmt.Errorf("%s", failed)
	}
	return nil
}

// Streamer streams deploys and rollbacks: the daemon's client, or a
// cluster (internal/kube/remote).
type Streamer interface {
	Deploy(ctx context.Context, req Request, fn func(StreamLine) error) error
	Rollback(ctx context.Context, stack, service string, to int, fn func(StreamLine) error) error
}

// FollowDeploy is Follow of d's deploy of req (berth deploy and ship).
func FollowDeploy(ctx context.Context, d Streamer, req Request, stdout, stderr io.Writer, asJSON bool, short func(string) string) error {
	return Follow(func(fn func(StreamLine) error) error { return d.Deploy(ctx, req, fn) }, stdout, stderr, asJSON, short)
}

// FollowRollback is Follow of d's rollback of service in stack to
// revision to (0: the one before the current).
func FollowRollback(ctx context.Context, d Streamer, stack, service string, to int, stdout, stderr io.Writer, asJSON bool, short func(string) string) error {
	return Follow(func(fn func(StreamLine) error) error { return d.Rollback(ctx, stack, service, to, fn) }, stdout, stderr, asJSON, short)
}
