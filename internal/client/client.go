// Package client is the typed client of the daemon's API: one method per
// endpoint of the route table (internal/engine/api), taking and returning
// the engine's and the deployer's types. Paths come from the api.Endpoint
// constants the server registers, so none is written twice.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/api"
	"github.com/berth-dev/berth/internal/engine/logs"
	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/proxy"
)

// Client talks to a daemon.
type Client struct {
	c *api.Client
}

// New returns a client of the daemon on socket ("" = $BERTH_SOCKET, or
// api.DefaultSocket).
func New(socket string) *Client { return &Client{c: api.NewClient(socket)} }

// Socket is the socket path the client uses.
func (c *Client) Socket() string { return c.c.Socket() }

// Version asks the daemon what it is (api.GetVersion).
func (c *Client) Version(ctx context.Context) (api.VersionInfo, error) {
	var v api.VersionInfo
	err := c.c.Call(ctx, api.GetVersion, nil, nil, nil, &v)
	return v, err
}

// Ping checks a daemon answers on the socket, within 10 seconds (the
// release pipeline's Daemon port, with Containers).
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := c.Version(ctx)
	return err
}

// Up brings spec.Name up as spec says and returns its containers.
func (c *Client) Up(ctx context.Context, spec model.StackSpec) ([]engine.Container, error) {
	var cs []engine.Container
	err := c.c.Call(ctx, api.StackUp, []string{spec.Name}, nil, spec, &cs)
	return cs, err
}

// DownOptions are berth down's options.
type DownOptions struct {
	Volumes bool // also remove the named volumes the stack's containers used
	// Timeout is each container's grace period between the stop signal and
	// SIGKILL; 0 keeps its stop_grace_period.
	Timeout time.Duration
}

// Down removes a stack's containers and network.
func (c *Client) Down(ctx context.Context, stack string, o DownOptions) error {
	q := url.Values{}
	if o.Volumes {
		q.Set("volumes", "1")
	}
	if o.Timeout > 0 {
		q.Set("timeout", o.Timeout.String())
	}
	return c.c.Call(ctx, api.StackDown, []string{stack}, q, nil, nil)
}

// Containers lists the containers of stack ("" = every stack).
func (c *Client) Containers(ctx context.Context, stack string) ([]engine.Container, error) {
	q := url.Values{}
	if stack != "" {
		q.Set("stack", stack)
	}
	var cs []engine.Container
	err := c.c.Call(ctx, api.ListContainers, nil, q, nil, &cs)
	return cs, err
}

// LogsOptions select a stack's log lines.
type LogsOptions struct {
	Service  string   // "" = every service
	Services []string // more services (with Service); none = every service
	Follow   bool
	Since    string // a duration ago (10m) or an RFC 3339 time; the daemon parses it
	// Until ends the logs at a duration ago (10m) or an RFC 3339 time:
	// later lines are left out, and following stops there.
	Until string
	Tail  int // the last N lines of each container; 0 = all
}

// errUntil ends a stream at LogsOptions.Until.
var errUntil = errors.New("past --until")

// Logs calls fn with the stack's log entries, replicas merged in time
// order, until they end (or, following, until ctx ends, Until passes or fn
// fails).
func (c *Client) Logs(ctx context.Context, stack string, o LogsOptions, fn func(logs.Entry) error) error {
	q := url.Values{}
	if o.Service != "" {
		q.Add("service", o.Service)
	}
	for _, s := range o.Services {
		q.Add("service", s)
	}
	if o.Until != "" {
		until, err := logs.ParseTime(o.Until, time.Now())
		if err != nil {
			return fmt.Errorf("--until %w", err)
		}
		if o.Follow {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, until)
			defer cancel()
		}
		inner := fn
		fn = func(e logs.Entry) error {
			if e.Time.After(until) {
				return errUntil
			}
			return inner(e)
		}
		err = c.logs(ctx, stack, o, q, fn)
		if errors.Is(err, errUntil) || (err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded)) {
			return nil
		}
		return err
	}
	return c.logs(ctx, stack, o, q, fn)
}

func (c *Client) logs(ctx context.Context, stack string, o LogsOptions, q url.Values, fn func(logs.Entry) error) error {
	if o.Follow {
		q.Set("follow", "1")
	}
	if o.Since != "" {
		q.Set("since", o.Since)
	}
	if o.Tail > 0 {
		q.Set("tail", strconv.Itoa(o.Tail))
	}
	return stream(ctx, c, api.StackLogs, []string{stack}, q, nil, "log entry", fn)
}

// Stats calls fn with samples of the running containers of stack ("" =
// all): one, or with stream one a second until ctx ends or fn fails.
func (c *Client) Stats(ctx context.Context, stack string, streaming bool, fn func(engine.StatsSample) error) error {
	q := url.Values{}
	if stack != "" {
		q.Set("stack", stack)
	}
	if streaming {
		q.Set("stream", "1")
	}
	return stream(ctx, c, api.GetStats, nil, q, nil, "stats", fn)
}

// Exec runs a process in the named container and returns its exit code
// (see api.Client.Exec for the streams).
func (c *Client) Exec(ctx context.Context, container string, req api.ExecRequest, stdin io.Reader, stdout, stderr io.Writer, resize <-chan [2]uint16) (int, error) {
	return c.c.Exec(ctx, container, req, stdin, stdout, stderr, resize)
}

// Scale sets replica counts (service → count) of a running stack and
// returns its containers.
func (c *Client) Scale(ctx context.Context, stack string, replicas map[string]int) ([]engine.Container, error) {
	var cs []engine.Container
	err := c.c.Call(ctx, api.StackScale, []string{stack}, nil, replicas, &cs)
	return cs, err
}

// Images lists the daemon's stored images.
func (c *Client) Images(ctx context.Context) ([]engine.Image, error) {
	var imgs []engine.Image
	err := c.c.Call(ctx, api.ListImages, nil, nil, nil, &imgs)
	return imgs, err
}

// Pull pulls ref into the daemon's store, calling fn with its progress.
func (c *Client) Pull(ctx context.Context, ref string, fn func(engine.PullEvent) error) error {
	return stream(ctx, c, api.PullImage, nil, nil, engine.PullRequest{Ref: ref}, "pull event", fn)
}

// RemoveImage removes an image, or one of its names; force removes one
// that containers run.
func (c *Client) RemoveImage(ctx context.Context, ref string, force bool) error {
	q := url.Values{}
	if force {
		q.Set("force", "1")
	}
	return c.c.Call(ctx, api.RemoveImage, []string{ref}, q, nil, nil)
}

// Volumes lists the named volumes.
func (c *Client) Volumes(ctx context.Context) ([]engine.Volume, error) {
	var vs []engine.Volume
	err := c.c.Call(ctx, api.ListVolumes, nil, nil, nil, &vs)
	return vs, err
}

// Certificates lists the proxy's automatic (tls: auto) certificates.
func (c *Client) Certificates(ctx context.Context) ([]proxy.CertStatus, error) {
	var cs []proxy.CertStatus
	err := c.c.Call(ctx, api.ListCerts, nil, nil, nil, &cs)
	return cs, err
}

// RemoveVolume removes a named volume no container uses.
func (c *Client) RemoveVolume(ctx context.Context, name string) error {
	return c.c.Call(ctx, api.RemoveVolume, []string{name}, nil, nil, nil)
}

// Prune removes what nothing uses (volumes too, with volumes). The report
// lists what went and what failed; failures are in rep.Errors, not err.
func (c *Client) Prune(ctx context.Context, volumes bool) (engine.PruneReport, error) {
	q := url.Values{}
	if volumes {
		q.Set("volumes", "1")
	}
	var rep engine.PruneReport
	err := c.c.Call(ctx, api.Prune, nil, q, nil, &rep)
	return rep, err
}

// Deploy rolls out req.Spec (stack req.Spec.Name), calling fn with each
// line of progress and, last, the report.
func (c *Client) Deploy(ctx context.Context, req deploy.Request, fn func(deploy.StreamLine) error) error {
	return stream(ctx, c, api.StackDeploy, []string{req.Spec.Name}, nil, req, "deploy progress", fn)
}

// Rollback rolls service back to revision to (0: the one before the
// current), calling fn like Deploy.
func (c *Client) Rollback(ctx context.Context, stack, service string, to int, fn func(deploy.StreamLine) error) error {
	q := url.Values{}
	if to > 0 {
		q.Set("to", strconv.Itoa(to))
	}
	return stream(ctx, c, api.ServiceRollback, []string{stack, service}, q, nil, "rollback progress", fn)
}

// History lists a service's deployed revisions, oldest first.
func (c *Client) History(ctx context.Context, stack, service string) ([]deploy.HistoryEntry, error) {
	var h []deploy.HistoryEntry
	err := c.c.Call(ctx, api.ServiceHistory, []string{stack, service}, nil, nil, &h)
	return h, err
}

// stream calls fn with each value of an ndjson response, decoded as T.
func stream[T any](ctx context.Context, c *Client, e api.Endpoint, args []string, q url.Values, body any, what string, fn func(T) error) error {
	return c.c.CallStream(ctx, e, args, q, body, func(raw json.RawMessage) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("%s from the daemon: %w", what, err)
		}
		return fn(v)
	})
}
