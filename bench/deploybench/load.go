//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// The steady load during a release: workers each holding one keep-alive
// HTTP/1.1 connection, paced to a fixed total rate. The client is strict,
// like wrk: a request that fails on a reused connection is counted as
// failed and not retried (net/http's transport silently retries idempotent
// requests on a stale connection, which would hide exactly the resets a
// release can cause).

// loadCounts are the steady load's counters at one moment.
type loadCounts struct {
	OK         int64            `json:"ok"`
	Non2xx     int64            `json:"non_2xx"`
	ConnErrors int64            `json:"conn_errors"`
	Versions   map[string]int64 `json:"versions"` // 2xx responses by the app's reported version
	Errors     []string         `json:"errors,omitempty"`
}

func (c loadCounts) failed() int64 { return c.Non2xx + c.ConnErrors }

// sub is c - earlier: what happened between two snapshots.
func (c loadCounts) sub(earlier loadCounts) loadCounts {
	d := loadCounts{OK: c.OK - earlier.OK, Non2xx: c.Non2xx - earlier.Non2xx, ConnErrors: c.ConnErrors - earlier.ConnErrors, Versions: map[string]int64{}}
	for v, n := range c.Versions {
		if n -= earlier.Versions[v]; n != 0 {
			d.Versions[v] = n
		}
	}
	if len(c.Errors) > len(earlier.Errors) {
		d.Errors = c.Errors[len(earlier.Errors):]
	}
	return d
}

// steadyLoad runs until stop.
type steadyLoad struct {
	mu     sync.Mutex
	counts loadCounts
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

const maxLoadErrors = 10 // distinct error messages kept

// startLoad sends GET path to addr from workers connections, rate requests
// per second in total (0: as fast as each connection allows).
func startLoad(ctx context.Context, addr, path string, workers int, rate float64) *steadyLoad {
	ctx, cancel := context.WithCancel(ctx)
	l := &steadyLoad{cancel: cancel, counts: loadCounts{Versions: map[string]int64{}}}
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(workers) / rate * float64(time.Second))
	}
	for i := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			// Workers start spread over one interval so the requests do
			// not come in bursts.
			if interval > 0 {
				select {
				case <-time.After(interval * time.Duration(i) / time.Duration(workers)):
				case <-ctx.Done():
					return
				}
			}
			l.worker(ctx, addr, path, interval)
		}()
	}
	return l
}

func (l *steadyLoad) worker(ctx context.Context, addr, path string, interval time.Duration) {
	var conn net.Conn
	var br *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: deploybench\r\n\r\n")
	next := time.Now()
	for ctx.Err() == nil {
		if interval > 0 {
			next = next.Add(interval)
			if d := time.Until(next); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return
				}
			} else if d < -time.Second {
				next = time.Now() // fell far behind (a stall): do not burst to catch up
			}
		}
		if conn == nil {
			c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
			if err != nil {
				if ctx.Err() == nil {
					l.record(0, "", err)
				}
				continue
			}
			conn, br = c, bufio.NewReader(c)
		}
		status, version, keep, err := roundTrip(conn, br, req)
		if ctx.Err() != nil {
			return // the load was stopped mid-request: not the server's failure
		}
		l.record(status, version, err)
		if err != nil || !keep {
			conn.Close()
			conn = nil
		}
	}
}

// roundTrip sends one request on conn and reads the whole response.
func roundTrip(conn net.Conn, br *bufio.Reader, req []byte) (status int, version string, keepAlive bool, err error) {
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(req); err != nil {
		return 0, "", false, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, "", false, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return 0, "", false, err
	}
	var v struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(body, &v) == nil {
		version = v.Version
	}
	return resp.StatusCode, version, !resp.Close, nil
}

func (l *steadyLoad) record(status int, version string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var msg string
	switch {
	case err != nil:
		l.counts.ConnErrors++
		msg = err.Error()
	case status < 200 || status > 299:
		l.counts.Non2xx++
		msg = fmt.Sprintf("HTTP %d", status)
	default:
		l.counts.OK++
		l.counts.Versions[version]++
		return
	}
	if len(l.counts.Errors) < maxLoadErrors {
		l.counts.Errors = append(l.counts.Errors, time.Now().Format("15:04:05.000 ")+msg)
	}
}

// snapshot copies the counters.
func (l *steadyLoad) snapshot() loadCounts {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counts
	c.Versions = make(map[string]int64, len(l.counts.Versions))
	for k, v := range l.counts.Versions {
		c.Versions[k] = v
	}
	c.Errors = append([]string(nil), l.counts.Errors...)
	return c
}

// stop ends the load and returns the final counters.
func (l *steadyLoad) stop() loadCounts {
	l.cancel()
	l.wg.Wait()
	return l.snapshot()
}
