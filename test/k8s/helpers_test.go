package k8s

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Kubectl runs the cluster's kubectl with the admin kubeconfig and returns
// its stdout; a failure fails the test with the command and its output.
func (c *Cluster) Kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.KubectlErr(args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// KubectlErr runs kubectl; the error carries its stderr.
func (c *Cluster) KubectlErr(args ...string) (string, error) {
	return c.kubectlIn(nil, args...)
}

// KubectlApply applies the YAML manifest (server-side validation included).
func (c *Cluster) KubectlApply(t *testing.T, namespace, manifest string) {
	t.Helper()
	out, err := c.kubectlIn(strings.NewReader(manifest), "apply", "-n", namespace, "-f", "-")
	if err != nil {
		t.Fatalf("kubectl apply: %v\nmanifest:\n%s", err, manifest)
	}
	t.Logf("kubectl apply: %s", strings.TrimSpace(out))
}

func (c *Cluster) kubectlIn(stdin *strings.Reader, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(c.BinDir, "kubectl"), args...)
	cmd.Env = c.Env()
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Env is the process environment for a command talking to the cluster:
// KUBECONFIG set, the cluster's binaries first in PATH.
func (c *Cluster) Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KUBECONFIG=") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	return append(env, "KUBECONFIG="+c.Kubeconfig, "PATH="+c.BinDir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// Namespace creates a namespace for the test (a unique name starting with
// prefix) and deletes it when the test ends, without waiting.
func (c *Cluster) Namespace(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 3)
	rand.Read(b)
	ns := prefix + "-" + hex.EncodeToString(b)
	c.Kubectl(t, "create", "namespace", ns)
	t.Cleanup(func() {
		if t.Failed() {
			// What the test saw, for the failure's diagnosis.
			out, _ := c.KubectlErr("get", "all,pvc,events", "-n", ns, "-o", "wide")
			t.Logf("namespace %s when the test failed:\n%s", ns, out)
		}
		if _, err := c.KubectlErr("delete", "namespace", ns, "--wait=false"); err != nil {
			t.Logf("delete namespace %s: %v", ns, err)
		}
	})
	return ns
}

// RunBerth runs the berth binary built for this run in dir, with the
// cluster's environment plus env, and returns its stdout; a failure fails
// the test with stderr.
func (c *Cluster) RunBerth(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(c.Berth, args...)
	cmd.Dir = dir
	cmd.Env = append(c.Env(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("berth %s (in %s): %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), dir, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// BuildPush builds IMAGE of berthYAML with `berth build --push` into the
// cluster's registry as REPOSITORY:TAG and returns the reference pinned by
// digest (REGISTRY/REPOSITORY@sha256:...), as berth deploys it.
func (c *Cluster) BuildPush(t *testing.T, berthYAML, image, repository, tag string) string {
	t.Helper()
	ref := c.Registry + "/" + repository + ":" + tag
	start := time.Now()
	out := c.RunBerth(t, filepath.Dir(berthYAML), []string{"BERTH_CACHE=" + filepath.Join(c.WorkDir, "berth-cache")},
		"build", "-q", "-f", berthYAML, image, "--push", ref)
	digest := strings.TrimSpace(out)
	if !strings.HasPrefix(digest, "sha256:") || strings.Contains(digest, "\n") {
		t.Fatalf("berth build -q printed %q, want one digest", out)
	}
	t.Logf("berth build %s --push %s: %s in %s", image, ref, digest, time.Since(start).Round(10*time.Millisecond))
	return c.Registry + "/" + repository + "@" + digest
}

// probeRef is the probe image of this run, built on first use.
var (
	probeOnce sync.Mutex
	probeRef  string
)

// ProbeImage builds testdata/probe (serve, get, lookup, write; see its
// main.go) and pushes it once per run; it returns the reference by digest.
func (c *Cluster) ProbeImage(t *testing.T) string {
	t.Helper()
	probeOnce.Lock()
	defer probeOnce.Unlock()
	if probeRef == "" {
		probeRef = c.BuildPush(t, filepath.Join(c.RepoRoot, "test", "k8s", "testdata", "probe", "berth.yaml"), "probe", "test/probe", "1")
	}
	return probeRef
}

// Eventually polls f every 100 ms until it reports true, failing the test
// with f's last message when timeout passes.
func Eventually(t *testing.T, what string, timeout time.Duration, f func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := f()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last: %s", timeout, what, msg)
		}
		time.Sleep(100 * time.Millisecond) // polling interval, not synchronisation
	}
}

// HTTPGet GETs url from the test process (2 s timeout) and returns the
// body; a status other than 200 is an error.
func HTTPGet(url string) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}

// Exec runs a command in a pod's (first) container with kubectl exec and
// returns its stdout.
func (c *Cluster) Exec(namespace, pod string, command ...string) (string, error) {
	return c.KubectlErr(append([]string{"exec", "-n", namespace, pod, "--"}, command...)...)
}

// Jsonpath reads one field of an object: kubectl get KIND/NAME -o
// jsonpath=EXPR (namespace "" for cluster-scoped objects).
func (c *Cluster) Jsonpath(t *testing.T, namespace, object, expr string) string {
	t.Helper()
	args := []string{"get", object, "-o", "jsonpath=" + expr}
	if namespace != "" {
		args = append(args, "-n", namespace)
	}
	return c.Kubectl(t, args...)
}
