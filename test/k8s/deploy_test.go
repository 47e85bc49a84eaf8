package k8s

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/fixtures"
)

// goappNodePort is where the example's published port answers on the
// node (compose's host port, kept as the NodePort).
const goappNodePort = 30080

// goapp is examples/goapp, copied, with an environment k8s (the test
// cluster, the test's namespace, berth's registry the cluster pulls from)
// and an environment staging on the same registry under another
// repository (for promote); FAIL_HEALTH=1 makes its health check fail.
type goapp struct {
	c    *Cluster
	t    *testing.T
	ns   string
	dir  string
	env  []string
	vars []string
}

func newGoapp(t *testing.T, c *Cluster) *goapp {
	t.Helper()
	apt, err := fixtures.AptRepoDir()
	if err != nil || !fixtures.AptRepoComplete(apt) {
		t.Skipf("no local apt repository (%v): run scripts/aptrepo.sh %s", err, apt)
	}
	g := &goapp{c: c, t: t, ns: c.Namespace(t, "goapp")}
	g.dir = filepath.Join(t.TempDir(), "goapp")
	if err := fixtures.CopyTree(filepath.Join(c.RepoRoot, "examples", "goapp"), g.dir); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(g.dir, "berth.yaml")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(raw), "    restart: always\n", "    restart: always\n    environment:\n      GOAPP_FAIL_HEALTH: \"${FAIL_HEALTH:-}\"\n", 1)
	s += "  k8s:\n    registry: ${K8S_REGISTRY}\n    repository: example\n    kubernetes:\n      kubeconfig: ${K8S_KUBECONFIG}\n      namespace: ${K8S_NS}\n"
	s += "  staging:\n    registry: ${K8S_REGISTRY}\n    repository: staging\n"
	if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	g.env = []string{"BERTH_CACHE=" + filepath.Join(c.WorkDir, "berth-cache"), "BERTH_APT_URL=file://" + apt}
	g.vars = []string{"--set", "K8S_REGISTRY=" + c.Registry, "--set", "K8S_KUBECONFIG=" + c.Kubeconfig, "--set", "K8S_NS=" + g.ns,
		"--set", fmt.Sprintf("APP_PORT=%d", goappNodePort)}
	return g
}

// berth runs berth in the app's directory; it returns stdout, stderr and
// the error (a failure is the caller's to judge).
func (g *goapp) berth(args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.c.Berth, append(args, g.vars...)...)
	cmd.Dir = g.dir
	cmd.Env = append(g.c.Env(), g.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// must runs berth and fails the test when it fails.
func (g *goapp) must(args ...string) string {
	g.t.Helper()
	out, errOut, err := g.berth(args...)
	if err != nil {
		g.t.Fatalf("berth %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	g.t.Logf("berth %s:\n%s%s", strings.Join(args, " "), errOut, out)
	return out
}

// report is deploy --json's output.
type report struct {
	Services []struct {
		Service, Outcome, Digest string
		Revision, Current        int
	}
	Error string
}

func (g *goapp) report(out string) report {
	g.t.Helper()
	var r report
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Services) != 1 {
		g.t.Fatalf("deploy --json printed %q (%v), want one service", out, err)
	}
	return r
}

// version asks the app through its NodePort Service.
func (g *goapp) version(client *http.Client) (string, error) {
	resp, err := client.Get(fmt.Sprintf("http://%s:%d/version", g.c.NodeIP, goappNodePort))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var v struct{ Version string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %s, body: %v", resp.Status, err)
	}
	return v.Version, nil
}

// onlyVersion checks n answers in a row are all want.
func (g *goapp) onlyVersion(want string, n int) {
	g.t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range n {
		v, err := g.version(client)
		if err != nil || v != want {
			g.t.Fatalf("answer %d: version %q, %v; want only %s", i, v, err, want)
		}
	}
}

// replicaSets counts the stack's ReplicaSets.
func (g *goapp) replicaSets() int {
	g.t.Helper()
	out := g.c.Kubectl(g.t, "get", "rs", "-n", g.ns, "-l", "berth.dev/stack=goapp", "-o", "name")
	return len(strings.Fields(out))
}

// readyPods are the app's pods that are Ready, with their imageIDs.
func (g *goapp) readyPods() map[string]string {
	g.t.Helper()
	out := g.c.Kubectl(g.t, "get", "pods", "-n", g.ns, "-l", "berth.dev/service=app", "-o",
		`jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status} {.status.containerStatuses[0].imageID}{"\n"}{end}`)
	pods := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[1] == "True" {
			pods[f[0]] = f[2]
		}
	}
	return pods
}

// TestGoappOnKubernetes is issue 12's acceptance on a real cluster, with
// berth's own commands: examples/goapp shipped with `berth ship -E k8s`
// runs 2 Ready pods that answer through its Service from the host; a
// second identical ship changes nothing (no revision, no new ReplicaSet);
// v1 → v2 under steady load through the Service fails no request; v3,
// whose health check fails, is rolled back automatically (deploy exits
// non-zero, only v2 answers, berth history -E k8s shows it rolled back);
// berth ps and logs -E k8s read the pods; and after berth promote to the
// environment's registry, berth deploy -E k8s --tag runs pods whose imageID
// is exactly the promoted digest.
func TestGoappOnKubernetes(t *testing.T) {
	c := need(t)
	g := newGoapp(t, c)

	// v1: build, push, apply, follow.
	start := time.Now()
	r := g.report(g.must("ship", "-E", "k8s", "--tag", "1.0.0", "--set", "VERSION=1.0.0", "--json"))
	t.Logf("ship v1 (build, push, deploy to all pods ready): %s", time.Since(start).Round(10*time.Millisecond))
	if s := r.Services[0]; s.Outcome != "deployed" || s.Revision != 1 || !strings.HasPrefix(s.Digest, "sha256:") {
		t.Fatalf("v1: %+v", s)
	}
	if pods := g.readyPods(); len(pods) != 2 {
		t.Fatalf("ready pods %v, want 2", pods)
	}
	g.onlyVersion("1.0.0", 5)

	// The same again: nothing changes.
	rs := g.replicaSets()
	start = time.Now()
	r = g.report(g.must("ship", "-E", "k8s", "--tag", "1.0.0", "--set", "VERSION=1.0.0", "--json"))
	t.Logf("identical ship (cached build, push, no-op apply): %s", time.Since(start).Round(10*time.Millisecond))
	if s := r.Services[0]; s.Outcome != "unchanged" || s.Current != 1 {
		t.Errorf("identical ship: %+v, want unchanged at revision 1", s)
	}
	if n := g.replicaSets(); n != rs {
		t.Errorf("identical ship: %d ReplicaSets, was %d", n, rs)
	}

	// v2 under steady load through the Service.
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := g.version(client); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					ok.Add(1)
				}
			}
		})
	}
	start = time.Now()
	r = g.report(g.must("ship", "-E", "k8s", "--tag", "2.0.0", "--set", "VERSION=2.0.0", "--json"))
	took := time.Since(start)
	close(stop)
	wg.Wait()
	t.Logf("v1 → v2 in %s under load: %d requests answered, %d failed (first: %v)", took.Round(10*time.Millisecond), ok.Load(), failed.Load(), firstErr.Load())
	if s := r.Services[0]; s.Outcome != "deployed" || s.Revision != 2 {
		t.Fatalf("v2: %+v", s)
	}
	if failed.Load() > 0 || ok.Load() == 0 {
		t.Errorf("v1 → v2: %d requests failed (first: %v), %d answered; want none failed", failed.Load(), firstErr.Load(), ok.Load())
	}
	g.onlyVersion("2.0.0", 5)

	// v3 fails its health check: rolled back on its own.
	out, errOut, err := g.berth("ship", "-E", "k8s", "--tag", "3.0.0", "--set", "VERSION=3.0.0", "--set", "FAIL_HEALTH=1")
	t.Logf("ship v3:\n%s%s", errOut, out)
	if err == nil {
		t.Fatal("ship of v3 (failing health check) succeeded")
	}
	if !strings.Contains(errOut, "rolling back to revision 2") || !strings.Contains(out, "rolled back") {
		t.Errorf("ship v3 did not report the rollback")
	}
	// The rollback decision: at most 2 s after the failure is visible in
	// the API. berth says how long after the container's exit (which the
	// kubelet reports in whole seconds: 1 s of slack) it decided.
	if m := regexp.MustCompile(`([0-9.]+)s after the container's exit`).FindStringSubmatch(errOut); m == nil {
		t.Errorf("ship v3 did not say when it decided")
	} else if d, _ := strconv.ParseFloat(m[1], 64); d > 3 {
		t.Errorf("rollback decided %.1fs after the container's exit, want ≤ 2 s (+1 s of the timestamp's rounding)", d)
	} else {
		t.Logf("rollback decided %.1fs after the failing container's exit (kubelet timestamp, whole seconds)", d)
	}
	g.onlyVersion("2.0.0", 10)
	hist := g.must("history", "app", "-E", "k8s")
	lines := strings.Split(strings.TrimSpace(hist), "\n")
	if len(lines) != 4 || !strings.Contains(lines[3], "rolled back") || !strings.HasPrefix(lines[2], "*") {
		t.Errorf("history:\n%s\nwant revisions 1, 2 (current) and 3 rolled back", hist)
	}

	ps := g.must("ps", "-E", "k8s")
	if strings.Count(ps, "healthy") != 2 {
		t.Errorf("ps -E k8s:\n%s\nwant 2 healthy pods", ps)
	}
	g.must("logs", "-E", "k8s", "--tail", "5")

	// promote then deploy --tag: the pods run exactly the promoted digest.
	tested := strings.TrimSpace(g.must("build", "-q", "app", "--set", "VERSION=4.0.0", "--push", c.Registry+"/staging/app:4.0.0"))
	g.must("promote", "app:4.0.0", "--from", "staging", "--to", "k8s")
	r = g.report(g.must("deploy", "-E", "k8s", "--tag", "4.0.0", "--json"))
	if s := r.Services[0]; s.Outcome != "deployed" || s.Digest != tested {
		t.Errorf("deploy --tag 4.0.0: %+v, want deployed %s", s, tested)
	}
	pods := g.readyPods()
	if len(pods) != 2 {
		t.Errorf("ready pods %v", pods)
	}
	for p, id := range pods {
		if !strings.HasSuffix(id, "@"+tested) {
			t.Errorf("pod %s runs %s, want the promoted %s", p, id, tested)
		}
	}
	g.onlyVersion("4.0.0", 3)
}
