package loadgen

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

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

// fetch GETs url once and reads the whole body.
func fetch(c *http.Client, url string) result {
	start := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		return result{err: err, latency: time.Since(start)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	r := result{status: resp.StatusCode, latency: time.Since(start)}
	if err != nil {
		// The status line came, the body did not: for the client this
		// request failed like a reset connection.
		r.status, r.err = 0, err
		return r
	}
	r.version, r.host = versionOf(body)
	return r
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
