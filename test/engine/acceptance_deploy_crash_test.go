package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/loadgen"
)

// TestDeployDaemonKilledMidRollout: kill -9 of the daemon in the middle of
// a rolling update (one replica already replaced, two to go). The proxy
// runs on, so the load sees no failed request while no daemon runs; the
// next daemon marks the rollout interrupted, and deploying the same release
// again resumes it: the new replicas already started are kept, and the
// stack converges to exactly the desired replicas of the new release, with
// nothing of the old one left.
func TestDeployDaemonKilledMidRollout(t *testing.T) {
	d := newDeployEnv(t, "dep-crash", appStack{Replicas: 3})
	d.deploy("--set", "VERSION=1.0.0")
	d.waitServing(3, "1.0.0")

	load := d.startLoad("/version", 8)

	// The deploy of 2.0.0, in the background: it dies with the daemon.
	ctx, cancel := context.WithTimeout(context.Background(), berthTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, "deploy", "-f", d.file, "--set", "VERSION=2.0.0")
	cmd.Env = append(os.Environ(), d.env...)
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deployDone := make(chan error, 1)
	go func() { deployDone <- cmd.Wait() }()

	// Mid-rollout: a replica of revision 2 is healthy and in rotation, and
	// at least two of revision 1 still run.
	eventually(t, "one replica replaced, the rest not yet", 60*time.Second, func() (bool, string) {
		var rev1, rev2 int
		for _, c := range d.app() {
			switch {
			case c.Revision == 2 && c.State == "running" && c.Health == "healthy":
				rev2++
			case c.Revision == 1 && c.State == "running":
				rev1++
			}
		}
		select {
		case err := <-deployDone:
			t.Fatalf("the deploy finished (%v) before the daemon was killed:\n%s", err, out.String())
		default:
		}
		return rev2 >= 1 && rev1 >= 2, fmt.Sprintf("revision 1: %d, revision 2: %d", rev1, rev2)
	})
	var started []string // revision 2's replicas when the daemon dies
	for _, c := range d.app() {
		if c.Revision == 2 && c.State == "running" && c.Health == "healthy" {
			started = append(started, c.ID)
		}
	}
	d.stackEnv.d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.stackEnv.d.done
	if err := <-deployDone; err == nil {
		t.Errorf("berth deploy succeeded although its daemon was killed:\n%s", out.String())
	}
	t.Logf("the deploy when its daemon died:\n%s", out.String())

	// No daemon: the published port keeps answering.
	atKill := load.Snapshot()
	eventually(t, "requests answered while no daemon runs", 10*time.Second, func() (bool, string) {
		now := load.Snapshot()
		return now.OK-atKill.OK >= 200, fmt.Sprintf("%d answered", now.OK-atKill.OK)
	})

	d.stackEnv.d = startDaemon(t, d.root, d.runDir, d.sock)
	h := d.history("app")
	if len(h) != 2 || h[1].Revision != 2 || h[1].Outcome != "interrupted" {
		t.Fatalf("history after the restart: %v, want revision 2 interrupted", h)
	}

	// Deploying the same release again resumes revision 2: the replicas
	// it had started are kept, the rest replaced.
	d.deploy("--set", "VERSION=2.0.0")
	s := load.Stop()
	noFailures(t, s)
	if s.Versions["1.0.0"] == 0 || s.Versions["2.0.0"] == 0 {
		t.Errorf("the load saw versions %v, want both", s.Versions)
	}
	d.onlyVersion(30, "2.0.0")
	eventually(t, "3 healthy replicas of revision 2 and nothing else", 30*time.Second, func() (bool, string) {
		cs := d.app()
		var b strings.Builder
		ok := len(cs) == 3
		for _, c := range cs {
			fmt.Fprintf(&b, "%s rev %d %s %s; ", c.Name, c.Revision, c.State, c.Health)
			if c.Revision != 2 || c.State != "running" || c.Health != "healthy" {
				ok = false
			}
		}
		return ok, b.String()
	})
	running := ids(d.app())
	for _, id := range started {
		if !slices.Contains(running, id) {
			t.Errorf("replica %s of revision 2, healthy before the crash, was replaced by the resumed rollout (now %v)", id, running)
		}
	}
	h = d.history("app")
	if len(h) != 2 || !h[1].Current || h[1].Revision != 2 || h[1].Outcome != "deployed" || h[1].Digest != d.images.digests["2.0.0"] {
		t.Errorf("history after the resumed deploy: %v, want revision 2 deployed and current", h)
	}
	d.finish()
}

// TestProxyKilledIsRestarted: kill -9 of the `berth proxy` process under
// load. The daemon notices at once (it holds a connection to the proxy's
// socket, which the kernel closes) and starts the proxy again with the
// listening sockets it holds a copy of, so the published port never
// closes: connections made meanwhile wait in its backlog and none is
// refused. The containers are not touched. What may fail is bounded by
// the connections the killed process had open: a request sent on one of
// them dies with it (the load generator never re-sends), at most one per
// worker. Names resolve throughout (the daemon holds the DNS sockets too):
// at most one query from a container is lost.
func TestProxyKilledIsRestarted(t *testing.T) {
	d := newDeployEnv(t, "dep-pxkill", appStack{Replicas: 2})
	d.deploy("--set", "VERSION=1.0.0")
	d.waitServing(2, "1.0.0")
	before := ids(d.app())

	procs := proxyProcesses(d.runDir)
	if len(procs) != 1 {
		t.Fatalf("%d berth proxy processes for %s, want 1", len(procs), d.runDir)
	}
	const workers = 8
	load := d.startLoad("/version", workers)
	eventually(t, "load flowing", 10*time.Second, func() (bool, string) {
		s := load.Snapshot()
		return s.OK >= 100, fmt.Sprint(s.OK)
	})
	// A container keeps resolving the service's name through the kill:
	// the daemon holds the DNS sockets too, so a query sent meanwhile
	// waits for the new proxy.
	names := startContainerDNSProbe(t, d.root, d.runDir, "app", 2*time.Second)
	names.waitAnswered(t, 20)
	atKill := load.Snapshot()
	killed := time.Now()
	if err := syscall.Kill(procs[0].pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var back time.Duration
	eventually(t, "a new proxy answering on the published port", 15*time.Second, func() (bool, string) {
		now := proxyProcesses(d.runDir)
		if len(now) != 1 || now[0].pid == procs[0].pid {
			return false, fmt.Sprintf("proxies: %v", now)
		}
		v, err := d.getVersion()
		if err != nil || v.Version != "1.0.0" {
			return false, fmt.Sprint(v, err)
		}
		back = time.Since(killed)
		return true, ""
	})
	// Well-behaved again: the load's requests since then all succeed.
	recovered := load.Snapshot()
	eventually(t, "requests answered by the new proxy", 10*time.Second, func() (bool, string) {
		s := load.Snapshot()
		return s.OK-recovered.OK >= 200, fmt.Sprint(s.OK - recovered.OK)
	})
	names.waitAnswered(t, names.answered()+20)
	dnsOK, dnsFailed, dnsSlowest := names.end()
	s := load.Stop()
	lost := s.Sub(atKill).Failed()
	t.Logf("port answering again %s after the kill; %d requests failed meanwhile (%d refused); whole load: %s", back.Round(time.Millisecond), lost, refusedCount(s), s)
	t.Logf("DNS from a container across the kill: %d answered, %d failed %v, slowest answer %s", dnsOK, len(dnsFailed), dnsFailed, dnsSlowest.Round(time.Millisecond))
	// At most the query the killed process had read and not answered.
	if len(dnsFailed) > 1 {
		t.Errorf("%d DNS queries from the container failed across the kill, want at most 1: %v", len(dnsFailed), dnsFailed)
	}
	if back > 3*time.Second {
		t.Errorf("the published port took %s to come back", back)
	}
	if n := refusedCount(s); n != 0 {
		t.Errorf("%d connections were refused: the listening socket closed with the proxy: %s", n, s)
	}
	if lost > workers {
		t.Errorf("%d requests failed, more than the %d connections the killed proxy had open: %s", lost, workers, s)
	}
	if after := s.Sub(recovered); after.Failed() != 0 {
		t.Errorf("%d requests failed after the new proxy answered: %s", after.Failed(), after)
	}
	if now := ids(d.app()); !slices.Equal(now, before) {
		t.Errorf("the proxy's restart touched the containers: %v, before %v", now, before)
	}
	d.finish()
}

// refusedCount is how many of the load's connection errors were refused
// connections (the sampled error messages; the load keeps up to 8 kinds).
func refusedCount(s loadgen.Snapshot) int64 {
	var n int64
	for msg, c := range s.Errors {
		if strings.Contains(msg, "connection refused") {
			n += c
		}
	}
	return n
}

// TestProxyUpgradeUnderLoad: the daemon is restarted from another berth
// binary (an upgrade) while the load runs. It finds the proxy of the old
// binary and replaces it (proxyd.Upgrade): the new proxy process starts
// with the old one's listening and DNS sockets and serves them at once,
// the old one answers what it had in flight with "Connection: close" and
// exits. Not one request fails, none is refused, not one name lookup from
// a container fails, the containers are untouched.
func TestProxyUpgradeUnderLoad(t *testing.T) {
	d := newDeployEnv(t, "dep-pxupg", appStack{Replicas: 2})
	d.deploy("--set", "VERSION=1.0.0")
	d.waitServing(2, "1.0.0")
	before := ids(d.app())
	procs := proxyProcesses(d.runDir)
	if len(procs) != 1 {
		t.Fatalf("%d berth proxy processes for %s, want 1", len(procs), d.runDir)
	}

	// The "new release": the same build under another inode.
	newBin := filepath.Join(t.TempDir(), "berth")
	for _, name := range []string{"berth", "berth-shim"} {
		raw, err := os.ReadFile(filepath.Join(filepath.Dir(berthBin), name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(newBin), name), raw, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	load := d.startLoad("/version", 8)
	names := startContainerDNSProbe(t, d.root, d.runDir, "app", time.Second)
	names.waitAnswered(t, 20)
	d.stackEnv.d.cmd.Process.Signal(syscall.SIGTERM)
	<-d.stackEnv.d.done
	atUpgrade := load.Snapshot()
	d.stackEnv.d = startDaemonBin(t, newBin, d.root, d.runDir, d.sock)

	eventually(t, "the proxy runs the new binary", 20*time.Second, func() (bool, string) {
		now := proxyProcesses(d.runDir)
		if len(now) != 1 || now[0].pid == procs[0].pid {
			return false, fmt.Sprintf("proxies: %v", now)
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", now[0].pid))
		return err == nil && exe == newBin, fmt.Sprint(exe, err)
	})
	upgraded := load.Snapshot()
	eventually(t, "requests answered by the new proxy", 10*time.Second, func() (bool, string) {
		s := load.Snapshot()
		return s.OK-upgraded.OK >= 200, fmt.Sprint(s.OK - upgraded.OK)
	})
	names.waitAnswered(t, names.answered()+20)
	dnsOK, dnsFailed, dnsSlowest := names.end()
	s := load.Stop()
	t.Logf("across the upgrade: %s; %d refused", s.Sub(atUpgrade), refusedCount(s))
	t.Logf("DNS from a container across the upgrade: %d answered, %d failed %v, slowest answer %s", dnsOK, len(dnsFailed), dnsFailed, dnsSlowest.Round(time.Millisecond))
	// No connection is refused. A request is lost only in the race every
	// server closing idle keep-alive connections has: the old proxy closes
	// a connection idle for closeIdleAfter just as its client sends on it
	// (a client that retries idempotent requests, as HTTP clients do, never
	// sees it; this load generator never re-sends): at most one per
	// connection, and never an answer other than 2xx.
	if n := refusedCount(s); n != 0 {
		t.Errorf("%d connections were refused across the upgrade: %s", n, s)
	}
	if s.Non2xx != 0 || s.ConnErrors > 8 {
		t.Errorf("across the upgrade: %s", s)
	}
	if len(dnsFailed) != 0 {
		t.Errorf("%d DNS queries from the container failed across the upgrade: %v", len(dnsFailed), dnsFailed)
	}
	if now := ids(d.app()); !slices.Equal(now, before) {
		t.Errorf("the proxy's upgrade touched the containers: %v, before %v", now, before)
	}
	d.finish()
}
