// Package health runs a container's health check (model.HealthCheck):
// Docker's exec form (CMD, CMD-SHELL) through the engine, plus HTTP and TCP
// probes that need nothing inside the image (distroless images have no
// curl). The states and timings are Docker's: starting until the first
// success, unhealthy after Retries consecutive failures, failures during
// StartPeriod not counted.
package health

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/model"
)

// Status is a container's health.
type Status string

// The health states.
const (
	Starting  Status = "starting"
	Healthy   Status = "healthy"
	Unhealthy Status = "unhealthy"
)

// Docker's defaults.
const (
	DefaultInterval      = 30 * time.Second
	DefaultTimeout       = 30 * time.Second
	DefaultRetries       = 3
	DefaultStartInterval = 5 * time.Second
)

// withDefaults fills in Docker's defaults for zero fields.
func withDefaults(c model.HealthCheck) model.HealthCheck {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Retries <= 0 {
		c.Retries = DefaultRetries
	}
	if c.StartInterval <= 0 {
		c.StartInterval = DefaultStartInterval
	}
	return c
}

// Target is the container a check runs against.
type Target interface {
	// Exec runs args inside the container and returns its exit code and
	// (truncated) output.
	Exec(ctx context.Context, args []string) (int, string, error)
	// Addr is the container's IP address (for HTTP and TCP probes).
	Addr() string
}

// Result is one probe's outcome.
type Result struct {
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration"`
	ExitCode int           `json:"exitCode"` // 0 healthy, 1 unhealthy (Docker's convention)
	Output   string        `json:"output"`
}

// Probe runs the check once.
func Probe(ctx context.Context, c model.HealthCheck, t Target) Result {
	c = withDefaults(c)
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	r := Result{Start: time.Now()}
	defer func() { r.Duration = time.Since(r.Start) }()
	fail := func(format string, a ...any) Result {
		r.ExitCode, r.Output = 1, fmt.Sprintf(format, a...)
		r.Duration = time.Since(r.Start)
		return r
	}
	switch c.Test[0] {
	case "CMD", "CMD-SHELL":
		args := c.Test[1:]
		if c.Test[0] == "CMD-SHELL" {
			args = []string{"/bin/sh", "-c", c.Test[1]}
		}
		code, out, err := t.Exec(ctx, args)
		if ctx.Err() != nil {
			return fail("health check timed out after %s", c.Timeout)
		}
		if err != nil {
			return fail("health check could not run: %v", err)
		}
		r.ExitCode, r.Output = 0, out
		if code != 0 {
			r.ExitCode = 1
		}
	case "HTTP":
		u := strings.Replace(c.Test[1], "://:", "://"+hostPort(t.Addr(), "")+":", 1)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return fail("health check URL %q: %v", c.Test[1], err)
		}
		req.Header.Set("User-Agent", "berth-healthcheck")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fail("GET %s: %v", u, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			return fail("GET %s: %s", u, resp.Status)
		}
		r.Output = resp.Status
	case "TCP":
		host, port, _ := net.SplitHostPort(c.Test[1])
		addr := net.JoinHostPort(hostPort(t.Addr(), host), port)
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return fail("connect %s: %v", addr, err)
		}
		conn.Close()
		r.Output = "connected to " + addr
	}
	r.Duration = time.Since(r.Start)
	return r
}

func hostPort(containerAddr, host string) string {
	if host != "" {
		return host
	}
	if strings.Contains(containerAddr, ":") {
		return "[" + containerAddr + "]"
	}
	return containerAddr
}

// Monitor runs a check periodically and tracks the status.
type Monitor struct {
	check    model.HealthCheck
	target   Target
	onChange func(Status)

	mu       sync.Mutex
	status   Status
	failures int
	log      []Result // the last 5, as docker inspect shows
}

// NewMonitor returns a monitor in the starting state. onChange (may be
// nil) is called on every status change, from the monitor's goroutine.
func NewMonitor(c model.HealthCheck, t Target, onChange func(Status)) *Monitor {
	return &Monitor{check: withDefaults(c), target: t, onChange: onChange, status: Starting}
}

// Status returns the current status, the consecutive failure count and the
// recent results.
func (m *Monitor) Status() (Status, int, []Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status, m.failures, append([]Result(nil), m.log...)
}

// Run probes until ctx ends. During the start period it probes every
// StartInterval and failures do not count; afterwards every Interval.
func (m *Monitor) Run(ctx context.Context) {
	started := time.Now()
	for {
		inStart := time.Since(started) < m.check.StartPeriod
		wait := m.check.Interval
		if inStart {
			wait = m.check.StartInterval
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		r := Probe(ctx, m.check, m.target)
		if ctx.Err() != nil {
			return
		}
		m.record(r, time.Since(started) < m.check.StartPeriod)
	}
}

func (m *Monitor) record(r Result, inStart bool) {
	m.mu.Lock()
	m.log = append(m.log, r)
	if len(m.log) > 5 {
		m.log = m.log[len(m.log)-5:]
	}
	old := m.status
	if r.ExitCode == 0 {
		m.failures = 0
		m.status = Healthy
	} else if !inStart || m.status != Starting {
		m.failures++
		if m.failures >= m.check.Retries {
			m.status = Unhealthy
		}
	}
	changed, now := old != m.status, m.status
	m.mu.Unlock()
	if changed && m.onChange != nil {
		m.onChange(now)
	}
}
