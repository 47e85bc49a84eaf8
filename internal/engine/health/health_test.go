package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/model"
)

// execTarget is a fake for the exec form only; HTTP and TCP probes run
// against real servers on loopback.
type execTarget struct {
	addr string
	code atomic.Int32
}

func (e *execTarget) Exec(ctx context.Context, args []string) (int, string, error) {
	return int(e.code.Load()), strings.Join(args, " "), nil
}
func (e *execTarget) Addr() string { return e.addr }

func waitStatus(t *testing.T, m *Monitor, want Status) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if s, _, _ := m.Status(); s == want {
			return
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
	s, n, log := m.Status()
	t.Fatalf("status %s (failures %d, log %+v), want %s", s, n, log, want)
}

func TestExecCheckTurnsUnhealthyAndBack(t *testing.T) {
	tgt := &execTarget{addr: "127.0.0.1"}
	var changes []Status
	m := NewMonitor(model.HealthCheck{Test: []string{"CMD-SHELL", "true"}, Interval: 10 * time.Millisecond, Retries: 3}, tgt,
		func(s Status) { changes = append(changes, s) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	waitStatus(t, m, Healthy)
	tgt.code.Store(1)
	waitStatus(t, m, Unhealthy)
	if _, n, log := m.Status(); n < 3 || log[len(log)-1].Output != "/bin/sh -c true" {
		t.Fatalf("failures %d, log %+v", n, log)
	}
	tgt.code.Store(0)
	waitStatus(t, m, Healthy)
}

func TestStartPeriodFailuresDoNotCount(t *testing.T) {
	tgt := &execTarget{addr: "127.0.0.1"}
	tgt.code.Store(1)
	m := NewMonitor(model.HealthCheck{Test: []string{"CMD", "x"}, Interval: 10 * time.Millisecond, StartInterval: 5 * time.Millisecond,
		StartPeriod: 300 * time.Millisecond, Retries: 1}, tgt, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	// Several failed probes inside the start period: still starting.
	deadline := time.Now().Add(250 * time.Millisecond)
	for {
		s, _, log := m.Status()
		if s != Starting {
			t.Fatalf("during the start period: %s after %d probes", s, len(log))
		}
		if len(log) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d probes in the start period", len(log))
		}
		time.Sleep(2 * time.Millisecond) // polling interval
	}
	waitStatus(t, m, Unhealthy)
}

func TestHTTPAndTCPProbes(t *testing.T) {
	healthy := atomic.Bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	tgt := &execTarget{addr: "127.0.0.1"}
	httpCheck := model.HealthCheck{Test: []string{"HTTP", "http://:" + port + "/healthz"}, Timeout: time.Second}
	if r := Probe(context.Background(), httpCheck, tgt); r.ExitCode != 1 {
		t.Fatalf("503 counted healthy: %+v", r)
	}
	healthy.Store(true)
	if r := Probe(context.Background(), httpCheck, tgt); r.ExitCode != 0 {
		t.Fatalf("200 counted unhealthy: %+v", r)
	}
	tcp := model.HealthCheck{Test: []string{"TCP", ":" + port}, Timeout: time.Second}
	if r := Probe(context.Background(), tcp, tgt); r.ExitCode != 0 {
		t.Fatalf("TCP to a listening port: %+v", r)
	}
	srv.Close()
	if r := Probe(context.Background(), tcp, tgt); r.ExitCode != 1 {
		t.Fatalf("TCP to a closed port: %+v", r)
	}
}

func TestTimeout(t *testing.T) {
	slow := &slowTarget{}
	r := Probe(context.Background(), model.HealthCheck{Test: []string{"CMD", "sleep"}, Timeout: 20 * time.Millisecond}, slow)
	if r.ExitCode != 1 || !strings.Contains(r.Output, "timed out") {
		t.Fatalf("%+v", r)
	}
}

type slowTarget struct{}

func (slowTarget) Exec(ctx context.Context, _ []string) (int, string, error) {
	<-ctx.Done()
	return -1, "", ctx.Err()
}
func (slowTarget) Addr() string { return "127.0.0.1" }
