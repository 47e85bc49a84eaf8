// Package api is the engine's HTTP API on a unix socket: the daemon serves
// it, the CLI is its client. Requests and responses are JSON; long-running
// calls (up, logs -f, pull) stream newline-delimited JSON events.
package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"time"
)

// DefaultSocket is where the daemon listens unless told otherwise.
const DefaultSocket = "/run/berth/berth.sock"

// Version is the API version path prefix.
const Version = "/v1"

// ErrNoDaemon means nothing listens on the socket.
var ErrNoDaemon = errors.New("no berth daemon")

// Client talks to a daemon.
type Client struct {
	socket string
	http   *http.Client
}

// NewClient returns a client for the daemon on socket ("" = DefaultSocket,
// or $BERTH_SOCKET).
func NewClient(socket string) *Client {
	if socket == "" {
		socket = os.Getenv("BERTH_SOCKET")
	}
	if socket == "" {
		socket = DefaultSocket
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}
	return &Client{socket: socket, http: &http.Client{Transport: tr}}
}

// Socket returns the socket path the client uses.
func (c *Client) Socket() string { return c.socket }

// Error is an error the daemon returned.
type Error struct {
	Status  int    `json:"-"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// noDaemon turns a dial failure into an error that says how to start one.
func (c *Client) noDaemon(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("%w on %s: start one with `berth daemon` (as root; `make demo` starts it), or point BERTH_SOCKET at a running one", ErrNoDaemon, c.socket)
	}
	return err
}

// Do sends a request with an optional JSON body and decodes a JSON response
// into out (if non-nil).
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	resp, err := c.send(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Call sends a request to an endpoint, its wildcards filled with args
// (see Endpoint.Path), and decodes the JSON response into out (if non-nil).
func (c *Client) Call(ctx context.Context, e Endpoint, args []string, query url.Values, body, out any) error {
	path, err := e.Path(args...)
	if err != nil {
		return err
	}
	return c.Do(ctx, e.Method(), path, query, body, out)
}

// CallStream is Stream for an endpoint (see Call).
func (c *Client) CallStream(ctx context.Context, e Endpoint, args []string, query url.Values, body any, fn func(json.RawMessage) error) error {
	path, err := e.Path(args...)
	if err != nil {
		return err
	}
	return c.Stream(ctx, e.Method(), path, query, body, fn)
}

// Stream sends a request and calls fn for every newline-delimited JSON
// value of the response until it ends or fn returns an error.
func (c *Client) Stream(ctx context.Context, method, path string, query url.Values, body any, fn func(json.RawMessage) error) error {
	resp, err := c.send(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var ev struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(line, &ev) == nil && ev.Error != "" {
			return &Error{Status: http.StatusInternalServerError, Message: ev.Error}
		}
		if err := fn(json.RawMessage(bytes.Clone(line))); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(raw)
	}
	u := "http://berth" + Version + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.noDaemon(err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		e := &Error{Status: resp.StatusCode}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(raw, e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("daemon answered %s: %s", resp.Status, bytes.TrimSpace(raw))
		}
		return nil, e
	}
	return resp, nil
}

// Ping checks the daemon answers, within timeout.
func (c *Client) Ping(ctx context.Context, timeout time.Duration) (VersionInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var v VersionInfo
	err := c.Call(ctx, GetVersion, nil, nil, nil, &v)
	return v, err
}
