package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The acceptance tests of `berth deploy` (issue 5): the example app,
// pushed as 1.0.0, 2.0.0 and 3.0.0 to a berth registry, runs as a stack
// of replicas behind berth's proxy on one published port, with load on it
// while releases roll out, fail, and replicas die. Not one request may
// fail.

// TestDeployRollingUpdateUnderLoad: a first deploy brings up 1.0.0; a
// second rolls 2.0.0 out replica by replica under load, losing no request,
// and history records both revisions.
func TestDeployRollingUpdateUnderLoad(t *testing.T) {
	d := newDeployEnv(t, "dep-roll", appStack{Replicas: 3})

	// The first deploy works on a stack that is not up yet.
	d.deploy("--set", "VERSION=1.0.0")
	d.waitServing(3, "1.0.0")
	old := d.app()

	load := d.startLoad("/version", 8)
	before := load.Snapshot()
	d.deploy("--set", "VERSION=2.0.0")
	s := load.Stop()
	noFailures(t, s)
	if during := s.Requests - before.Requests; during < 100 {
		t.Errorf("only %d requests during the deploy: the load did not cover it", during)
	}
	if s.Versions["1.0.0"] == 0 || s.Versions["2.0.0"] == 0 || len(s.Versions) != 2 {
		t.Errorf("the load saw versions %v, want both 1.0.0 and 2.0.0 and nothing else", s.Versions)
	}

	// Deployed means every replica is the new release.
	d.onlyVersion(50, "2.0.0")
	eventually(t, "3 replicas, all of revision 2, none of the old ones", 15*time.Second, func() (bool, string) {
		cs := d.app()
		if len(cs) != 3 {
			return false, fmt.Sprintf("%d replicas: %+v", len(cs), cs)
		}
		for _, c := range cs {
			if c.Revision != 2 || c.State != "running" || c.Health != "healthy" || slices.Contains(ids(old), c.ID) {
				return false, fmt.Sprintf("%s (%s): revision %d, %s, %s", c.Name, c.ID, c.Revision, c.State, c.Health)
			}
		}
		return true, ""
	})

	h := d.history("app")
	if len(h) != 2 {
		t.Fatalf("history has %d revisions, want 2: %v", len(h), h)
	}
	if h[0].Revision != 1 || h[0].Outcome != "deployed" || h[0].Current || h[0].Digest != d.images.digests["1.0.0"] || h[0].Service != "app" {
		t.Errorf("revision 1: %v, want deployed, not current, digest %s", h[0], d.images.digests["1.0.0"])
	}
	if h[1].Revision != 2 || h[1].Outcome != "deployed" || !h[1].Current || h[1].Digest != d.images.digests["2.0.0"] {
		t.Errorf("revision 2: %v, want deployed, current, digest %s", h[1], d.images.digests["2.0.0"])
	}
	if h[0].ConfigHash == "" || h[1].ConfigHash == "" {
		t.Errorf("revisions without a config hash: %q, %q", h[0].ConfigHash, h[1].ConfigHash)
	}

	// Deploying the same again changes nothing: no container replaced, no
	// revision added.
	same := d.app()
	d.deploy("--set", "VERSION=2.0.0")
	if again := d.app(); !slices.Equal(ids(again), ids(same)) {
		t.Errorf("a deploy without changes replaced containers:\nnow %+v\nbefore %+v", again, same)
	}
	if h := d.history("app"); len(h) != 2 {
		t.Errorf("a deploy without changes added a revision: %v", h)
	}
	d.finish()
}

// TestDeployFailingHealthRollsBack: 3.0.0 with a failing health check
// (FAIL_HEALTH=1 sets GOAPP_FAIL_HEALTH in the stack file) never gets
// traffic; the deploy rolls back to 2.0.0, says so, and exits non-zero.
func TestDeployFailingHealthRollsBack(t *testing.T) {
	d := newDeployEnv(t, "dep-fail", appStack{Replicas: 3})
	d.deploy("--set", "VERSION=2.0.0")
	d.waitServing(3, "2.0.0")
	before := d.app()

	load := d.startLoad("/version", 8)
	out := d.deployFail(d.file, "--set", "VERSION=3.0.0", "--set", "FAIL_HEALTH=1", "--timeout", "90s")
	s := load.Stop()
	if !strings.Contains(out, "rolled back") {
		t.Errorf("the failed deploy does not say it rolled back:\n%s", out)
	}
	noFailures(t, s)
	// An unhealthy replica must never get a request: 3.0.0 answers
	// /version fine, only its /healthz fails.
	if len(s.Versions) != 1 || s.Versions["2.0.0"] != s.OK {
		t.Errorf("the load saw versions %v, want only 2.0.0", s.Versions)
	}

	d.onlyVersion(50, "2.0.0")
	// The healthy replicas were never touched: start-first stopped none of
	// them before the first new one failed.
	eventually(t, "the 3 replicas of 2.0.0 alone", 15*time.Second, func() (bool, string) {
		cs := d.app()
		return slices.Equal(ids(cs), ids(before)), fmt.Sprintf("now %+v\nbefore %+v", cs, before)
	})
	for _, c := range d.app() {
		if c.State != "running" || c.Health != "healthy" || c.Restarts != 0 {
			t.Errorf("%s after the rollback: %s, %s, %d restarts", c.Name, c.State, c.Health, c.Restarts)
		}
	}

	h := d.history("app")
	var failed []historyEntry
	for _, e := range h {
		if e.Digest == d.images.digests["3.0.0"] {
			failed = append(failed, e)
		}
	}
	if len(failed) != 1 || failed[0].Outcome != "rolled_back" || failed[0].Current {
		t.Errorf("want one revision of 3.0.0 (%s), rolled_back and not current: %v", d.images.digests["3.0.0"], h)
	}
	cur := current(t, h)
	if cur.Digest != d.images.digests["2.0.0"] || cur.Outcome != "deployed" {
		t.Errorf("current revision %v, want the deployed 2.0.0 (%s)", cur, d.images.digests["2.0.0"])
	}
	if len(failed) == 1 && failed[0].Reason == "" {
		t.Errorf("the rolled back revision gives no reason: %v", failed[0])
	}
	d.finish()
}

// TestProxyReplicaKilledDuringLoad: SIGKILL of one replica's process
// under load loses no request; the replica restarts, turns healthy and
// gets traffic again.
func TestProxyReplicaKilledDuringLoad(t *testing.T) {
	d := newDeployEnv(t, "dep-kill", appStack{Replicas: 3})
	d.deploy("--set", "VERSION=1.0.0")
	d.waitServing(3, "1.0.0")

	load := d.startLoad("/version", 8)
	victim := d.app()[0]
	pid := d.runcPid(victim.ID)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d (%s): %v", pid, victim.Name, err)
	}
	atKill := load.Snapshot()
	t.Logf("killed %s (pid %d); load so far: %s", victim.Name, pid, atKill)

	eventually(t, victim.Name+" restarted and healthy", 90*time.Second, func() (bool, string) {
		for _, c := range d.app() {
			if c.Name == victim.Name {
				return c.Restarts == 1 && c.State == "running" && c.Health == "healthy", fmt.Sprintf("%+v", c)
			}
		}
		return false, victim.Name + " is not in ps"
	})
	// Back in the pool: it answers through the published port again.
	eventually(t, victim.Name+" answering through the proxy again", 30*time.Second, func() (bool, string) {
		v, err := d.getVersion()
		return err == nil && v.Host == victim.Name, fmt.Sprint(v, err)
	})
	after := load.Snapshot()
	if after.Requests-atKill.Requests < 50 {
		t.Errorf("only %d requests after the kill", after.Requests-atKill.Requests)
	}
	noFailures(t, load.Stop())

	for _, c := range d.app() {
		if c.Name != victim.Name && c.Restarts != 0 {
			t.Errorf("%s restarted too (%d), only %s was killed", c.Name, c.Restarts, victim.Name)
		}
	}
	d.finish()
}

// TestProxyDrainLetsInflightFinish: a request in flight on the replica a
// deploy replaces completes (200, from the old version), and the deploy
// waits for it before removing that replica. One replica, so the slow
// request is surely on the one drained.
func TestProxyDrainLetsInflightFinish(t *testing.T) {
	const slow = 8 * time.Second
	d := newDeployEnv(t, "dep-drain", appStack{Replicas: 1, Proxy: "{drain_timeout: 30s}"})
	d.deploy("--set", "VERSION=1.0.0")
	d.waitServing(1, "1.0.0")
	load := d.startLoad("/version", 2)

	type answer struct {
		status int
		body   string
		err    error
		end    time.Time
	}
	wrote := make(chan struct{})
	done := make(chan answer, 1)
	slowStart := time.Now()
	go func() {
		var once sync.Once // a retried request is written twice
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(wrote) }) }}
		req, _ := http.NewRequest("GET", d.url(fmt.Sprintf("/slow?ms=%d", slow.Milliseconds())), nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		// A connection of its own: none the test's other GETs left idle.
		c := http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Do(req)
		if err != nil {
			done <- answer{err: err, end: time.Now()}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- answer{status: resp.StatusCode, body: string(b), err: err, end: time.Now()}
	}()
	select {
	case <-wrote:
	case a := <-done:
		t.Fatalf("the slow request ended before it was sent: %+v", a)
	case <-time.After(10 * time.Second):
		t.Fatal("the slow request was not sent within 10s")
	}

	d.deploy("--set", "VERSION=2.0.0")
	deployEnd := time.Now()
	var a answer
	select {
	case a = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the slow request did not finish within a minute")
	}
	var v appVersion
	if a.err != nil || a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &v) != nil || v.Version != "1.0.0" {
		t.Fatalf("the slow request in flight during the deploy: status %d, %q, %v; want 200 from 1.0.0", a.status, a.body, a.err)
	}
	if took := a.end.Sub(slowStart); took < slow {
		t.Fatalf("the slow request took %s, less than the %s it asked for", took, slow)
	}
	// The deploy returned after the drained replica's last request, not
	// before: it waited out the remaining time. (A little slack for the
	// response reaching this process after the proxy finished it.)
	if deployEnd.Add(250 * time.Millisecond).Before(a.end) {
		t.Errorf("the deploy returned %s before the request in flight on the old replica finished", a.end.Sub(deployEnd))
	}
	noFailures(t, load.Stop())
	d.onlyVersion(20, "2.0.0")
	d.finish()
}

// TestDeployBadInput: a deploy that cannot start — an unknown tag, an
// invalid file, a port another process holds — says why and leaves the
// running revision as it was.
func TestDeployBadInput(t *testing.T) {
	d := newDeployEnv(t, "dep-bad", appStack{Replicas: 2})
	d.deploy("--set", "VERSION=1.0.0")
	d.waitServing(2, "1.0.0")
	running := d.app()
	hist := d.history("app")

	untouched := func(d *deployEnv) {
		d.t.Helper()
		cs := d.app()
		if !slices.Equal(ids(cs), ids(running)) {
			d.t.Fatalf("containers changed:\nnow %+v\nbefore %+v", cs, running)
		}
		for _, c := range cs {
			if c.State != "running" || c.Health != "healthy" || c.Restarts != 0 {
				d.t.Errorf("%s: %s, %s, %d restarts", c.Name, c.State, c.Health, c.Restarts)
			}
		}
		d.onlyVersion(10, "1.0.0")
		if h := d.history("app"); !slices.EqualFunc(h, hist, func(a, b historyEntry) bool {
			return a.Revision == b.Revision && a.Digest == b.Digest && a.Outcome == b.Outcome && a.Current == b.Current
		}) {
			d.t.Fatalf("history changed:\nnow %v\nbefore %v", h, hist)
		}
	}

	t.Run("unknown tag", func(t *testing.T) {
		d := d.with(t)
		out := d.deployFail(d.file, "--set", "VERSION=9.9.9")
		if !strings.Contains(out, "9.9.9") {
			t.Errorf("the error does not name the tag 9.9.9:\n%s", out)
		}
		untouched(d)
	})

	t.Run("invalid file", func(t *testing.T) {
		d := d.with(t)
		content := strings.Replace(readFile(t, d.file), "replicas: 2", "replicas: two", 1)
		file := d.write("invalid/compose.yaml", content)
		line := lineOf(t, content, "replicas: two")
		out := d.deployFail(file, "--set", "VERSION=1.0.0")
		if !strings.Contains(out, fmt.Sprintf("compose.yaml:%d", line)) || !strings.Contains(out, "replicas") {
			t.Errorf("the error names neither compose.yaml:%d nor replicas:\n%s", line, out)
		}
		untouched(d)
	})

	t.Run("invalid proxy setting", func(t *testing.T) {
		d := d.with(t)
		file := d.write("badproxy/compose.yaml", strings.Replace(readFile(t, d.file),
			"x-berth-proxy: {drain_timeout: 30s}", "x-berth-proxy: {drain_timeout: 30s, balance: random}", 1))
		out := d.deployFail(file, "--set", "VERSION=1.0.0")
		if !strings.Contains(out, "balance") || !strings.Contains(out, "random") {
			t.Errorf("the error does not name balance and its value random:\n%s", out)
		}
		untouched(d)
	})

	t.Run("published port in use", func(t *testing.T) {
		d := d.with(t)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		taken := l.Addr().String()
		// The same stack, but published on the taken port.
		file := d.write("porttaken/compose.yaml", strings.Replace(readFile(t, d.file),
			fmt.Sprintf("127.0.0.1:%d:8080", d.port), taken+":8080", 1))
		out := d.deployFail(file, "--set", "VERSION=1.0.0")
		if !strings.Contains(out, taken) {
			t.Errorf("the error does not name the address %s:\n%s", taken, out)
		}
		untouched(d)
	})

	d.finish()
}
