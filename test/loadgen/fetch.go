package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Each worker speaks HTTP/1.1 itself over one keep-alive connection instead
// of going through net/http's Transport: the Transport silently re-sends an
// idempotent request whose reused connection turned out to be broken, and
// would dial spare connections, so a reset during a release could pass
// unseen. Here a request is sent exactly once; whatever goes wrong with it
// counts as a connection error, as wrk counts it.

// maxBody bounds what one response may make us read: the body is read to
// the end so the connection can be reused, but a runaway body must not
// hold a worker forever.
const maxBody = 1 << 20

// result is the outcome of one request.
type result struct {
	status  int    // 0: no response (connection error)
	err     error  // transport error, timeout or truncated body
	version string // the JSON body's "version", if any
	host    string // the JSON body's "host", if any
	latency time.Duration
}

// target is where every request of a run goes.
type target struct {
	addr    string      // host:port to dial
	tls     *tls.Config // nil for http
	request []byte      // the whole GET request, sent as is
}

func newTarget(u *url.URL, tlsConfig *tls.Config) *target {
	t := &target{addr: u.Host}
	port := u.Port()
	if u.Scheme == "https" {
		t.tls = &tls.Config{ServerName: u.Hostname()}
		if tlsConfig != nil {
			t.tls = tlsConfig.Clone()
		}
		if port == "" {
			t.addr = net.JoinHostPort(u.Hostname(), "443")
		}
	} else if port == "" {
		t.addr = net.JoinHostPort(u.Hostname(), "80")
	}
	t.request = []byte("GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: berth-loadgen\r\n\r\n")
	return t
}

// client is one worker's connection: dialled on the first request and
// again after one that failed or that the server answered with close.
type client struct {
	t       *target
	timeout time.Duration
	conn    net.Conn
	br      *bufio.Reader
}

// fetch GETs the target once, within the timeout, and reads the whole body.
func (c *client) fetch() result {
	start := time.Now()
	r, keep := c.roundTrip(start.Add(c.timeout))
	r.latency = time.Since(start)
	if !keep {
		c.close()
	}
	return r
}

// roundTrip sends the request and reads the response; keep is whether the
// connection can carry the next request.
func (c *client) roundTrip(deadline time.Time) (r result, keep bool) {
	if c.conn == nil {
		conn, err := c.dial(deadline)
		if err != nil {
			return result{err: fmt.Errorf("dial %s: %w", c.t.addr, err)}, false
		}
		c.conn, c.br = conn, bufio.NewReader(conn)
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		return result{err: err}, false
	}
	if _, err := c.conn.Write(c.t.request); err != nil {
		return result{err: fmt.Errorf("send request: %w", err)}, false
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return result{err: fmt.Errorf("read response: %w", err)}, false
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		// The status line came, the body did not: for the client this
		// request failed like a reset connection.
		resp.Body.Close()
		return result{err: fmt.Errorf("read body (HTTP %d): %w", resp.StatusCode, err)}, false
	}
	// A body longer than maxBody is left unread: the connection cannot
	// carry another request then.
	var rest [1]byte
	n, _ := resp.Body.Read(rest[:])
	resp.Body.Close()
	r = result{status: resp.StatusCode}
	r.version, r.host = versionOf(body)
	return r, n == 0 && !resp.Close
}

func (c *client) dial(deadline time.Time) (net.Conn, error) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if c.t.tls != nil {
		return (&tls.Dialer{Config: c.t.tls}).DialContext(ctx, "tcp", c.t.addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", c.t.addr)
}

func (c *client) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.br = nil, nil
	}
}

// versionOf reads "version" and "host" from a JSON object body (what the
// example app's /version and /slow answer); other bodies have neither.
func versionOf(body []byte) (version, host string) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' {
		return "", ""
	}
	var v struct {
		Version any `json:"version"`
		Host    any `json:"host"`
	}
	if json.Unmarshal(b, &v) != nil {
		return "", ""
	}
	s, _ := v.Version.(string)
	h, _ := v.Host.(string)
	return s, h
}
