package k8s

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/fixtures"
)

// stackDir is a copy of a berth.yaml directory with an environment k8s:
// the test cluster, a namespace of the test's own, berth's registry.
type stackDir struct {
	c    *Cluster
	t    *testing.T
	ns   string
	dir  string
	env  []string // the process environment's additions
	vars []string // --set flags every command gets
}

// newStackDir copies src (a directory of testdata) and adds environment k8s
// with kubernetes: {kubeconfig, namespace}; extra is appended to the
// environment's entry (indented by 4).
func newStackDir(t *testing.T, c *Cluster, src, nsPrefix, kubeconfig string) *stackDir {
	t.Helper()
	s := &stackDir{c: c, t: t, ns: c.Namespace(t, nsPrefix)}
	s.dir = filepath.Join(t.TempDir(), filepath.Base(src))
	if err := fixtures.CopyTree(src, s.dir); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(s.dir, "berth.yaml")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	y := string(raw) + "\nenvironments:\n  k8s:\n    registry: ${K8S_REGISTRY}\n    repository: test\n    kubernetes:\n      kubeconfig: ${K8S_KUBECONFIG}\n      namespace: ${K8S_NS}\n"
	if err := os.WriteFile(file, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	s.env = []string{"BERTH_CACHE=" + filepath.Join(c.WorkDir, "berth-cache")}
	s.vars = []string{"--set", "K8S_REGISTRY=" + c.Registry, "--set", "K8S_KUBECONFIG=" + kubeconfig, "--set", "K8S_NS=" + s.ns}
	return s
}

// berth runs berth in the directory: stdout, stderr and the error.
func (s *stackDir) berth(args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.c.Berth, append(args, s.vars...)...)
	cmd.Dir = s.dir
	cmd.Env = append(s.c.Env(), s.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// must runs berth and fails the test when it fails.
func (s *stackDir) must(args ...string) string {
	s.t.Helper()
	out, errOut, err := s.berth(args...)
	if err != nil {
		s.t.Fatalf("berth %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	s.t.Logf("berth %s:\n%s%s", strings.Join(args, " "), errOut, out)
	return out
}

// deployReport is deploy --json's report: every service's outcome.
func (s *stackDir) deployReport(out string) map[string]string {
	s.t.Helper()
	var r struct {
		Services []struct{ Service, Outcome string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		s.t.Fatalf("deploy --json printed %q: %v", out, err)
	}
	m := map[string]string{}
	for _, x := range r.Services {
		m[x.Service] = x.Outcome
	}
	return m
}

// pods are the names of a service's Ready pods.
func (s *stackDir) readyPods(service string) []string {
	s.t.Helper()
	out := s.c.Kubectl(s.t, "get", "pods", "-n", s.ns, "-l", "berth.dev/service="+service, "-o",
		`jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
	var ready []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[1] == "True" {
			ready = append(ready, f[0])
		}
	}
	return ready
}

// dbwebNodePort is where the web service's published port answers.
const dbwebNodePort = 30081

// TestDatabaseAndWebOnKubernetes is issue 12's stack with a database: a
// database-like service (a named volume, a secret with compose's uid, gid
// and mode, a non-root user, no ports) and a web service, one static Go
// program built by berth, shipped with `berth ship -E k8s`. The claim binds
// (the harness's StorageClass) and the database writes to it as its
// non-root user; the secret is at /run/secrets/db_password, group 1000
// (compose's gid, the pod's fsGroup), owner-readable as compose's 0400, and
// the non-root process reads it (the database refuses to start otherwise,
// and reports its hash); web reaches db by name through CoreDNS (db's
// headless Service: its health check dials db:5432, and a request from the
// host through web's NodePort returns db's answer); the data outlives the
// database's pod.
func TestDatabaseAndWebOnKubernetes(t *testing.T) {
	c := need(t)
	s := newStackDir(t, c, filepath.Join(c.RepoRoot, "test", "k8s", "testdata", "dbweb"), "dbweb", c.Kubeconfig)
	s.vars = append(s.vars, "--set", fmt.Sprintf("WEB_PORT=%d", dbwebNodePort))

	start := time.Now()
	rep := s.deployReport(s.must("ship", "-E", "k8s", "--tag", "1", "--json"))
	t.Logf("ship (build, push, deploy to all pods ready): %s", time.Since(start).Round(10*time.Millisecond))
	if rep["db"] != "deployed" || rep["web"] != "deployed" {
		t.Fatalf("ship: %v, want db and web deployed", rep)
	}
	dbPods, webPods := s.readyPods("db"), s.readyPods("web")
	if len(dbPods) != 1 || len(webPods) != 2 {
		t.Fatalf("ready pods: db %v, web %v; want 1 and 2", dbPods, webPods)
	}

	// The claim is bound, to a volume of the harness's default class.
	claim := strings.TrimSpace(c.Kubectl(t, "get", "pvc", "-n", s.ns, "-l", "berth.dev/stack=dbweb", "-o", "jsonpath={.items[*].metadata.name}"))
	if claim != "dbweb-dbdata" {
		t.Fatalf("claims %q, want dbweb-dbdata", claim)
	}
	if phase := c.Jsonpath(t, s.ns, "pvc/"+claim, "{.status.phase}"); phase != "Bound" {
		t.Fatalf("pvc/%s is %s, want Bound", claim, phase)
	}
	if sc := c.Jsonpath(t, s.ns, "pvc/"+claim, "{.spec.storageClassName}"); c.StorageClass != "" && sc != c.StorageClass {
		t.Errorf("pvc/%s has class %q, want %q", claim, sc, c.StorageClass)
	}

	// The secret as the non-root user sees it in the database's pod.
	st, err := c.Exec(s.ns, dbPods[0], "/dbweb", "stat", "/run/secrets/db_password")
	if err != nil {
		t.Fatalf("stat the secret in %s: %v", dbPods[0], err)
	}
	var mode, uid, gid int
	var readable string
	if _, err := fmt.Sscanf(strings.TrimSpace(st), "mode=%o uid=%d gid=%d %s", &mode, &uid, &gid, &readable); err != nil {
		t.Fatalf("stat printed %q: %v", st, err)
	}
	t.Logf("/run/secrets/db_password in pod %s: %s", dbPods[0], strings.TrimSpace(st))
	if readable != "readable" || gid != 1000 || mode&0o400 == 0 || mode&0o077&^0o040 != 0 {
		t.Errorf("secret: %s; want group 1000 (compose's gid), readable by the owner and that group only, read by the non-root process", st)
	}

	// web → db by name (through cluster DNS) → the answer, from the host.
	pw, err := os.ReadFile(filepath.Join(s.dir, "db_password.txt"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pw)
	wantHash := "password-sha256=" + hex.EncodeToString(sum[:8])
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() (string, error) {
		resp, err := client.Get(fmt.Sprintf("http://%s:%d/", c.NodeIP, dbwebNodePort))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s: %s", resp.Status, b)
		}
		return string(b), err
	}
	body, err := get()
	if err != nil {
		t.Fatalf("GET web from the host: %v", err)
	}
	t.Logf("GET http://%s:%d/: %s", c.NodeIP, dbwebNodePort, strings.TrimSpace(body))
	if !strings.HasPrefix(body, "web -> db uid=1000 gid=1000 ") || !strings.Contains(body, wantHash) || !strings.Contains(body, "boots=1") {
		t.Errorf("web answered %q, want db's line: uid=1000 gid=1000, %s, boots=1", body, wantHash)
	}
	// The name web dials is db's headless Service: it resolves to the
	// database pod's address.
	if typ := c.Jsonpath(t, s.ns, "service/db", "{.spec.clusterIP}"); typ != "None" {
		t.Errorf("service/db has clusterIP %q, want None (headless)", typ)
	}
	if out, err := c.Exec(s.ns, webPods[0], "/dbweb", "check", "db."+s.ns+".svc."+c.Domain+":5432"); err != nil {
		t.Errorf("from web pod %s, db by its full name: %v %s", webPods[0], err, out)
	}

	// The data outlives the pod: a new database pod counts a second start
	// in the same volume.
	c.Kubectl(t, "delete", "pod", "-n", s.ns, dbPods[0], "--wait=false")
	Eventually(t, "web to answer from the new database pod", 2*time.Minute, func() (bool, string) {
		b, err := get()
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(b, "boots=2"), b
	})
	pv := c.Jsonpath(t, s.ns, "pvc/"+claim, "{.spec.volumeName}")
	if dir := c.Jsonpath(t, "", "pv/"+pv, "{.spec.hostPath.path}"); dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, "boots"))
		if err != nil || strings.TrimSpace(string(b)) != "2" {
			t.Errorf("the volume's file on the node (%s): %q, %v; want 2", dir, b, err)
		}
	}
}
