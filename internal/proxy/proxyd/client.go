package proxyd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/berth-dev/berth/internal/proxy"
)

// ErrNotRunning means no proxy process answers on the socket.
var ErrNotRunning = errors.New("no berth proxy running")

// Error is an error the proxy process answered with; its text is the
// proxy's own (e.g. "listen 127.0.0.1:8080: address already in use").
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

// Client talks to a `berth proxy` process over its unix socket.
type Client struct {
	socket string
	http   *http.Client
}

// NewClient returns a client for the proxy listening on socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		// A proxy restarted between two calls leaves dead idle
		// connections; few calls are made, so keeping none is simplest.
		DisableKeepAlives: true,
	}
	return &Client{socket: socket, http: &http.Client{Transport: tr}}
}

// Socket returns the socket path the client uses.
func (c *Client) Socket() string { return c.socket }

// Apply makes cfg the proxy's config. On error the proxy's config (and
// its state file) are unchanged.
func (c *Client) Apply(ctx context.Context, cfg proxy.Config) error {
	return c.do(ctx, http.MethodPut, "/config", nil, cfg, nil)
}

// Config returns the proxy's current config.
func (c *Client) Config(ctx context.Context) (proxy.Config, error) {
	var cfg proxy.Config
	err := c.do(ctx, http.MethodGet, "/config", nil, nil, &cfg)
	return cfg, err
}

// Status returns per route and backend counters.
func (c *Client) Status(ctx context.Context) ([]proxy.RouteStatus, error) {
	var st []proxy.RouteStatus
	err := c.do(ctx, http.MethodGet, "/status", nil, nil, &st)
	return st, err
}

// Certificates reports the proxy's automatic (tls auto) certificates.
func (c *Client) Certificates(ctx context.Context) ([]proxy.CertStatus, error) {
	var st []proxy.CertStatus
	err := c.do(ctx, http.MethodGet, "/certificates", nil, nil, &st)
	return st, err
}

// Drain returns when the backend has no request or connection in flight
// (or its route's drain timeout cancelled them, or ctx ended). Apply a
// config with the backend not Ready (or absent) first.
func (c *Client) Drain(ctx context.Context, backendID string) error {
	if backendID == "" {
		return errors.New("drain: backend ID is empty")
	}
	return c.do(ctx, http.MethodPost, "/drain", url.Values{"backend": {backendID}}, nil, nil)
}

// Health returns the proxy process's health answer.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	err := c.do(ctx, http.MethodGet, "/healthz", nil, nil, &h)
	return h, err
}

// Ping returns nil when a proxy answers on the socket.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.Health(ctx)
	return err
}

// Shutdown asks the proxy to close its listeners and exit; it returns
// once the request is accepted (see Stop to wait for the exit).
func (c *Client) Shutdown(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/shutdown", nil, nil, nil)
}

func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	u := "http://berth-proxy" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if notRunning(err) {
			return fmt.Errorf("%w on %s", ErrNotRunning, c.socket)
		}
		return fmt.Errorf("berth proxy on %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e errorBody
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("berth proxy: %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
		}
		return &Error{Status: resp.StatusCode, Message: e.Error}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("berth proxy: %s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

// notRunning tells "nothing listens" (no socket file, or a stale one) from
// other failures.
func notRunning(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)
}
