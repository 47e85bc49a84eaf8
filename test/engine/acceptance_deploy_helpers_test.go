package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/fixtures"
	"github.com/berth-dev/berth/test/loadgen"
)

// Helpers of the deploy acceptance tests: the example Go app pushed in
// three versions to a `berth registry serve`, a stack of it behind berth's
// proxy, and `berth deploy` / `history` / `ps` as the tests read them.

// goappVersions are the versions of the example app the tests deploy.
var goappVersions = []string{"1.0.0", "2.0.0", "3.0.0"}

// goappImages is a registry root holding example/app:<version> for each of
// goappVersions.
type goappImages struct {
	root    string            // the registry's --root
	digests map[string]string // version → manifest digest
}

var (
	goappOnce  sync.Once
	goappBuilt goappImages
	goappErr   error
)

// sharedGoappImages builds the example app's three versions once per test
// binary (three `berth build --push`, about a minute cold) into a registry
// root below the directory TestMain removes at the end.
func sharedGoappImages(t *testing.T) goappImages {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skip("the example app is built for linux/amd64")
	}
	need(t)
	repo := aptRepoDir(t) // skips without the local apt repository
	// Nothing in Do may stop the goroutine (t.Fatal, t.Skip): Once would
	// count it as done and later tests would see no images and no error.
	goappOnce.Do(func() { goappBuilt, goappErr = buildGoappImages(repo) })
	if goappErr != nil {
		t.Fatalf("building the example app's versions: %v", goappErr)
	}
	return goappBuilt
}

func buildGoappImages(aptRepo string) (goappImages, error) {
	dir := filepath.Join(filepath.Dir(berthBin), "goapp-images")
	imgs := goappImages{root: filepath.Join(dir, "registry"), digests: map[string]string{}}
	src := filepath.Join(dir, "goapp")
	if err := fixtures.CopyTree(filepath.Join(examplesDir, "goapp"), src); err != nil {
		return imgs, err
	}
	reg, err := startRegistryProcess(imgs.root, filepath.Join(dir, "registry-build.log"))
	if err != nil {
		return imgs, err
	}
	defer reg.stop()
	env := append(os.Environ(), "BERTH_APT_URL=file://"+aptRepo, "BERTH_CACHE="+filepath.Join(dir, "cache"))
	for _, v := range goappVersions {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		cmd := exec.CommandContext(ctx, berthBin, "build", "-f", filepath.Join(src, "berth.yaml"), "app",
			"--set", "VERSION="+v, "--push", reg.addr+"/example/app:"+v, "--json")
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		if err != nil {
			return imgs, fmt.Errorf("berth build app --set VERSION=%s: %v\n%s%s", v, err, stdout.String(), stderr.String())
		}
		var res []struct {
			Digest string `json:"digest"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || len(res) != 1 || !strings.HasPrefix(res[0].Digest, "sha256:") {
			return imgs, fmt.Errorf("berth build --json for %s: %v\n%s", v, err, stdout.String())
		}
		imgs.digests[v] = res[0].Digest
	}
	if imgs.digests["1.0.0"] == imgs.digests["2.0.0"] {
		return imgs, errors.New("versions 1.0.0 and 2.0.0 of the app built to the same digest: --set VERSION had no effect")
	}
	return imgs, nil
}

// registryProcess is a `berth registry serve` on a free loopback port.
type registryProcess struct {
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

func startRegistryProcess(root, logPath string) (*registryProcess, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(berthBin, "registry", "serve", "--addr", addr, "--root", root)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	r := &registryProcess{addr: addr, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(r.done) }()
	c := http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := c.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			return r, nil
		}
		select {
		case <-r.done:
			raw, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("berth registry serve exited:\n%s", raw)
		default:
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("berth registry serve on %s does not answer: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// stop ends the registry (SIGTERM, then SIGKILL after 10 s) and waits, so
// the next one can open the same root.
func (r *registryProcess) stop() {
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
}

// deployEnv is a daemon (stackEnv), a registry serving the app's versions
// and the compose file of one stack of the app.
type deployEnv struct {
	*stackEnv
	images goappImages
	reg    string // the registry's host:port
	port   int    // the app's published port
	file   string // the stack's compose.yaml
}

// appStack says how the test's stack of the example app looks.
type appStack struct {
	Replicas int    // default 3
	Port     int    // published on 127.0.0.1; default: the env's port
	Proxy    string // the x-berth-proxy value (YAML flow); default {drain_timeout: 30s}
	// DaemonArgs are more flags of the test's berth daemon (--console).
	DaemonArgs []string
}

// newDeployEnv starts a daemon and a registry for the test and writes the
// stack file (compose.yaml, project name inside) without deploying it. At
// the end the stack is taken down and any proxy process the daemon left
// is killed.
func newDeployEnv(t *testing.T, project string, o appStack) *deployEnv {
	t.Helper()
	imgs := sharedGoappImages(t)
	var s *stackEnv
	// Registered first, so it runs last: after newStackEnv's `down` and
	// the daemon's kill.
	t.Cleanup(func() {
		if s != nil {
			killLeftoverProxies(t, s)
		}
	})
	s = newStackEnv(t, project, o.DaemonArgs...)
	reg, err := startRegistryProcess(imgs.root, filepath.Join(s.work, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.stop)
	d := &deployEnv{stackEnv: s, images: imgs, reg: reg.addr, port: freePort(t)}
	d.file = d.writeStack("compose.yaml", o)
	return d
}

// with is d for a subtest.
func (d *deployEnv) with(t *testing.T) *deployEnv {
	c := *d
	c.stackEnv = d.stackEnv.with(t)
	return &c
}

// writeStack writes a stack file of the app and returns its path. The
// image tag comes from VERSION (--set VERSION=...), and FAIL_HEALTH
// (--set FAIL_HEALTH=1) reaches the app as GOAPP_FAIL_HEALTH, which makes
// its /healthz answer 503: a release whose health check fails.
func (d *deployEnv) writeStack(name string, o appStack) string {
	d.t.Helper()
	if o.Replicas == 0 {
		o.Replicas = 3
	}
	if o.Port == 0 {
		o.Port = d.port
	}
	if o.Proxy == "" {
		o.Proxy = "{drain_timeout: 30s}"
	}
	return d.write(name, fmt.Sprintf(`name: %s
services:
  app:
    image: %s/example/app:${VERSION:-1.0.0}
    environment:
      GOAPP_FAIL_HEALTH: "${FAIL_HEALTH:-}"
    ports: ["127.0.0.1:%d:8080"]
    restart: always
    healthcheck:
      test: [CMD, /app/goapp, -healthcheck]
      interval: 500ms
      timeout: 2s
      retries: 2
    deploy:
      replicas: %d
      update_config: {parallelism: 1, monitor: 1s}
    x-berth-proxy: %s
`, d.project, d.reg, o.Port, o.Replicas, o.Proxy))
}

// berthTimeout is the longest any berth command of these tests may take:
// a hung deploy fails the test instead of the whole run.
const berthTimeout = 4 * time.Minute

// tryTimed runs berth with the test's environment and returns its
// combined output, how long it took and its error.
func (d *deployEnv) tryTimed(args ...string) (string, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), berthTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, args...)
	cmd.Env = append(os.Environ(), d.env...)
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("killed after %s: %w", berthTimeout, err)
	}
	return out.String(), time.Since(start), err
}

// deploy runs `berth deploy -f FILE ARGS...` and fails the test unless it
// succeeds; it returns the output and how long the deploy took.
func (d *deployEnv) deploy(args ...string) (string, time.Duration) {
	d.t.Helper()
	return d.deployFile(d.file, args...)
}

func (d *deployEnv) deployFile(file string, args ...string) (string, time.Duration) {
	d.t.Helper()
	full := append([]string{"deploy", "-f", file}, args...)
	out, took, err := d.tryTimed(full...)
	if err != nil {
		d.t.Fatalf("berth %s: %v (after %s)\n%s", strings.Join(full, " "), err, took.Round(time.Millisecond), out)
	}
	d.t.Logf("berth %s: %s\n%s", strings.Join(full, " "), took.Round(time.Millisecond), out)
	return out, took
}

// deployFail runs `berth deploy -f FILE ARGS...` expecting it to fail.
func (d *deployEnv) deployFail(file string, args ...string) string {
	d.t.Helper()
	full := append([]string{"deploy", "-f", file}, args...)
	out, took, err := d.tryTimed(full...)
	if err == nil {
		d.t.Fatalf("berth %s succeeded, want an error:\n%s", strings.Join(full, " "), out)
	}
	d.t.Logf("berth %s: %v after %s\n%s", strings.Join(full, " "), err, took.Round(time.Millisecond), out)
	return out
}

// historyEntry is one revision in `berth history SERVICE --json`.
type historyEntry struct {
	Revision   int    `json:"revision"`
	Service    string `json:"service"`
	Image      string `json:"image"`
	Digest     string `json:"digest"`
	ConfigHash string `json:"configHash"`
	Created    any    `json:"created"`
	Finished   any    `json:"finished"`
	Outcome    string `json:"outcome"`
	Reason     string `json:"reason"`
	RollbackOf int    `json:"rollbackOf"`
	Current    bool   `json:"current"`
}

func (h historyEntry) String() string {
	cur := ""
	if h.Current {
		cur = " current"
	}
	return fmt.Sprintf("rev %d %s %s %s%s (%s)", h.Revision, h.Outcome, h.Image, h.Digest, cur, h.Reason)
}

// history is `berth history SERVICE -f FILE --json`, oldest first.
func (d *deployEnv) history(service string) []historyEntry {
	d.t.Helper()
	args := []string{"history", service, "-f", d.file, "--json"}
	out, _, err := d.tryTimed(args...)
	if err != nil {
		d.t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var h []historyEntry
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		d.t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for i := 1; i < len(h); i++ {
		if h[i].Revision <= h[i-1].Revision {
			d.t.Fatalf("history is not oldest first: %v", h)
		}
	}
	return h
}

// current is the history's one current revision.
func current(t *testing.T, h []historyEntry) historyEntry {
	t.Helper()
	var cur []historyEntry
	for _, e := range h {
		if e.Current {
			cur = append(cur, e)
		}
	}
	if len(cur) != 1 {
		t.Fatalf("%d current revisions, want 1: %v", len(cur), h)
	}
	return cur[0]
}

// revEntry is a `berth ps --json` entry with the revision it runs.
type revEntry struct {
	psEntry
	Revision int `json:"revision"`
}

// app lists the app service's containers, sorted by name.
func (d *deployEnv) app() []revEntry {
	d.t.Helper()
	out := d.berth("ps", "-p", d.project, "--json")
	var all []revEntry
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		d.t.Fatalf("berth ps --json: %v\n%s", err, out)
	}
	var cs []revEntry
	for _, c := range all {
		if c.Service == "app" {
			cs = append(cs, c)
		}
	}
	slices.SortFunc(cs, func(a, b revEntry) int { return strings.Compare(a.Name, b.Name) })
	return cs
}

func ids(cs []revEntry) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	slices.Sort(out)
	return out
}

// url is the published port's URL of path.
func (d *deployEnv) url(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", d.port, path)
}

// appVersion is one GET of /version through the published port.
type appVersion struct {
	Version string `json:"version"`
	Host    string `json:"host"`
}

func (d *deployEnv) getVersion() (appVersion, error) {
	body, err := get(d.url("/version"))
	if err != nil {
		return appVersion{}, err
	}
	var v appVersion
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.Version == "" {
		return appVersion{}, fmt.Errorf("/version answered %q (%v)", body, err)
	}
	return v, nil
}

// waitServing waits until the app runs n healthy replicas and the
// published port answers with version.
func (d *deployEnv) waitServing(n int, version string) {
	d.t.Helper()
	eventually(d.t, fmt.Sprintf("%d healthy replicas serving %s", n, version), 90*time.Second, func() (bool, string) {
		cs := d.app()
		if len(cs) != n {
			return false, fmt.Sprintf("%d replicas: %+v", len(cs), cs)
		}
		for _, c := range cs {
			if c.State != "running" || c.Health != "healthy" {
				return false, fmt.Sprintf("%s: %s, %s", c.Name, c.State, c.Health)
			}
		}
		v, err := d.getVersion()
		return err == nil && v.Version == version, fmt.Sprint(v, err)
	})
}

// onlyVersion GETs /version n times and fails unless every answer is
// version.
func (d *deployEnv) onlyVersion(n int, version string) {
	d.t.Helper()
	for i := 0; i < n; i++ {
		v, err := d.getVersion()
		if err != nil || v.Version != version {
			d.t.Fatalf("GET /version #%d: %+v %v, want version %s", i+1, v, err, version)
		}
	}
}

// startLoad puts load on path of the published port: workers with a short
// pause each, so the 2-core test machine keeps time for health checks. The
// load stops when the test ends, if the test did not stop it.
func (d *deployEnv) startLoad(path string, workers int) *loadgen.Generator {
	d.t.Helper()
	g, err := loadgen.Start(context.Background(), loadgen.Options{
		URL: d.url(path), Concurrency: workers, Interval: 5 * time.Millisecond, Timeout: 10 * time.Second,
	})
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { g.Stop() })
	// The load must be flowing before the test changes anything.
	eventually(d.t, "the load flowing", 30*time.Second, func() (bool, string) {
		s := g.Snapshot()
		return s.OK >= 50, s.String()
	})
	return g
}

// noFailures fails the test if any request of the load failed.
func noFailures(t *testing.T, s loadgen.Snapshot) {
	t.Helper()
	t.Logf("load: %s", s)
	if s.Failed() != 0 {
		t.Errorf("%d of %d requests failed (%d non-2xx, %d connection errors): %s", s.Failed(), s.Requests, s.Non2xx, s.ConnErrors, s)
	}
}

// runcPid is the host pid of a container's main process, from runc's
// state under the daemon's run directory (the daemon runs runc with
// --root <run-dir>/runc).
func (d *deployEnv) runcPid(id string) int {
	d.t.Helper()
	runcRoot := filepath.Join(d.runDir, "runc")
	out, err := exec.Command("runc", "--root", runcRoot, "state", id).Output()
	if err != nil {
		list, _ := exec.Command("runc", "--root", runcRoot, "list").CombinedOutput()
		d.t.Fatalf("runc --root %s state %s: %v\nrunc list:\n%s", runcRoot, id, err, list)
	}
	var st struct {
		Pid    int    `json:"pid"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(out, &st); err != nil || st.Pid <= 1 || st.Status != "running" {
		d.t.Fatalf("runc state %s: %v\n%s", id, err, out)
	}
	return st.Pid
}

// finish takes the stack down with its volumes and checks that nothing of
// it is left, the published port included.
func (d *deployEnv) finish() {
	d.t.Helper()
	d.berth("down", "-v", "-p", d.project)
	d.noStackLeft("after berth down -v")
	eventually(d.t, "the published port closed after down", 15*time.Second, func() (bool, string) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", d.port), time.Second)
		if err != nil {
			return true, ""
		}
		c.Close()
		return false, "127.0.0.1:" + strconv.Itoa(d.port) + " still accepts connections"
	})
}

// killLeftoverProxies kills the `berth proxy` processes the test's daemon
// started; startDaemon does it too, this is for tests that also need the
// port closed before they end.
func killLeftoverProxies(t *testing.T, s *stackEnv) { killProxies(t, s.work) }

func readFile(t *testing.T, p string) string {
	t.Helper()
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// lineOf is the 1-based number of content's first line holding s.
func lineOf(t *testing.T, content, s string) int {
	t.Helper()
	for i, l := range strings.Split(content, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%q is not in:\n%s", s, content)
	return 0
}

// waitOnlyVersion waits until 10 GETs of /version in a row on the
// published port answer version.
func waitOnlyVersion(t *testing.T, port int, version string) {
	t.Helper()
	eventually(t, fmt.Sprintf("only %s answering on port %d", version, port), 15*time.Second, func() (bool, string) {
		for range 10 {
			body, err := get(fmt.Sprintf("http://127.0.0.1:%d/version", port))
			if err != nil {
				return false, err.Error()
			}
			var v struct{ Version string }
			if json.Unmarshal([]byte(body), &v); v.Version != version {
				return false, body
			}
		}
		return true, ""
	})
}

// deployedService is one service of a `berth deploy|ship --json` report.
type deployedService struct {
	Service, Outcome, Digest string
	Revision                 int
}

// deployedOne reads the JSON report at the end of a deploy's or ship's
// output and fails unless it deployed exactly one service.
func deployedOne(t *testing.T, out string) deployedService {
	t.Helper()
	var r struct{ Services []deployedService }
	i := strings.Index(out, "{\n")
	if i < 0 || json.Unmarshal([]byte(out[i:]), &r) != nil || len(r.Services) != 1 || r.Services[0].Outcome != "deployed" {
		t.Fatalf("no single deployed service in:\n%s", out)
	}
	return r.Services[0]
}
