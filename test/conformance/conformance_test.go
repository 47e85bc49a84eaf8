package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// suiteEnv turns on every API and data set of the suite (README.md lists
// them; SOURCE.md names the ones off by default). Sparse manifests need
// the registry's allowSparseManifests, which the test turns on.
var suiteEnv = []string{
	"OCI_TLS=disabled",
	"OCI_VERSION=1.1",
	"OCI_REPO1=conformance/repo1",
	"OCI_REPO2=conformance/repo2",
	"OCI_LOG=warn",
	"OCI_API_PING=true",
	"OCI_API_PULL=true",
	"OCI_API_PUSH=true",
	"OCI_API_BLOBS_ATOMIC=true",
	"OCI_API_BLOBS_DELETE=true",
	"OCI_API_BLOBS_DIGEST_HEADER=true",
	"OCI_API_BLOBS_MOUNT_ANONYMOUS=true",
	"OCI_API_BLOBS_UPLOAD_CANCEL=true",
	"OCI_API_MANIFESTS_ATOMIC=true",
	"OCI_API_MANIFESTS_DELETE=true",
	"OCI_API_MANIFESTS_DIGEST_HEADER=true",
	"OCI_API_MANIFESTS_TAG_PARAM=true",
	"OCI_API_TAGS_ATOMIC=true",
	"OCI_API_TAGS_DELETE=true",
	"OCI_API_TAGS_LIST=true",
	"OCI_API_REFERRER=true",
	"OCI_DATA_IMAGE=true",
	"OCI_DATA_INDEX=true",
	"OCI_DATA_INDEX_LIST=true",
	"OCI_DATA_SPARSE=true",
	"OCI_DATA_ARTIFACT=true",
	"OCI_DATA_SUBJECT=true",
	"OCI_DATA_SUBJECT_MISSING=true",
	"OCI_DATA_ARTIFACT_LIST=true",
	"OCI_DATA_SUBJECT_LIST=true",
	"OCI_DATA_DATA_FIELD=true",
	"OCI_DATA_NONDISTRIBUTABLE=true",
	"OCI_DATA_CUSTOM_FIELDS=true",
	"OCI_DATA_NO_LAYERS=true",
	"OCI_DATA_EMPTY_BLOB=true",
	"OCI_DATA_SHA512=true",
}

func TestOCIConformance(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	suiteDir := filepath.Join(root, "..", "shared", "tools", "oci-conformance")
	if dir := os.Getenv("BERTH_OCI_CONFORMANCE_DIR"); dir != "" {
		suiteDir = dir // e.g. from a git worktree, whose ../shared is elsewhere
	}
	if _, err := os.Stat(filepath.Join(suiteDir, "go.mod")); err != nil {
		msg := fmt.Sprintf("the OCI conformance suite is not at %s (a copy of shared/ must sit beside the repository): %v", suiteDir, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	work := t.TempDir()
	berth := filepath.Join(work, "berth")
	run(t, root, nil, "go", "build", "-o", berth, "./cmd/berth")
	suite := buildSuite(t, suiteDir, work)

	addr := freeAddr(t)
	startRegistry(t, berth, addr, filepath.Join(work, "root"), filepath.Join(work, "registry.log"))

	runDir := filepath.Join(work, "run")
	if err := os.Mkdir(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, suite)
	cmd.Dir = runDir
	cmd.Env = append(withoutOCIVars(os.Environ()), suiteEnv...)
	cmd.Env = append(cmd.Env, "OCI_REGISTRY="+addr, "OCI_RESULTS_DIR="+filepath.Join(runDir, "results"))
	out, runErr := cmd.CombinedOutput()
	if err := os.WriteFile(filepath.Join(work, "suite.out"), out, 0o644); err != nil {
		t.Fatal(err)
	}

	rep, err := readJUnit(filepath.Join(runDir, "results", "junit.xml"))
	if err != nil {
		t.Fatalf("conformance suite (exit: %v) left no readable junit.xml: %v\nsuite output (tail):\n%s", runErr, err, tail(out, 4000))
	}
	t.Logf("OCI conformance: %d tests, %d failures, %d errors, %d skipped, %d disabled (%d test cases)",
		rep.Tests, rep.Failures, rep.Errors, rep.Skipped, rep.Disabled, len(rep.cases()))
	bad := rep.notPassed()
	if rep.Tests == 0 || len(rep.cases()) == 0 {
		t.Fatalf("conformance suite ran no tests\nsuite output (tail):\n%s", tail(out, 4000))
	}
	if rep.Failures != 0 || rep.Errors != 0 || rep.Skipped != 0 || rep.Disabled != 0 || len(bad) != 0 || runErr != nil {
		var b strings.Builder
		for _, c := range bad {
			fmt.Fprintf(&b, "  %s: %s\n", c.Status, c.Name)
			if msg := c.message(); msg != "" {
				fmt.Fprintf(&b, "      %s\n", strings.ReplaceAll(clip(msg, 600), "\n", "\n      "))
			}
		}
		t.Fatalf("OCI conformance: %d failures, %d errors, %d skipped, %d disabled of %d (exit: %v); want all to pass. Not passed:\n%s",
			rep.Failures, rep.Errors, rep.Skipped, rep.Disabled, rep.Tests, runErr, b.String())
	}
}

// repoRoot walks up from the test's directory to the one holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test directory")
		}
		dir = parent
	}
}

// run runs a command in dir, failing the test with its output on error.
func run(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
}

// buildSuite builds the suite into work. It builds in place first, which
// only reads the directory (shared/ may be read-only); if the module needs
// go.mod/go.sum changes, it builds a copy with -mod=mod instead, so
// nothing is ever written into shared/.
func buildSuite(t *testing.T, suiteDir, work string) string {
	t.Helper()
	bin := filepath.Join(work, "oci-conformance")
	env := []string{"GOWORK=off", "GOFLAGS="}
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", bin, ".")
	cmd.Dir = suiteDir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return bin
	}
	t.Logf("building the suite in place failed (%v), retrying on a copy with -mod=mod:\n%s", err, out)
	src := filepath.Join(work, "oci-conformance-src")
	if err := copyTree(suiteDir, src); err != nil {
		t.Fatal(err)
	}
	run(t, src, []string{"GOWORK=off", "GOFLAGS=-mod=mod"}, "go", "build", "-buildvcs=false", "-o", bin, ".")
	return bin
}

// copyTree copies the regular files and directories under src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, 0o644)
		}
		return nil
	})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startRegistry runs `berth registry serve` with sparse manifests allowed
// until the test ends, and waits until /v2/ answers.
func startRegistry(t *testing.T, berth, addr, root, logPath string) {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(berth, "registry", "serve", "--addr", addr, "--root", root, "--allow-sparse-manifests")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("registry log (tail):\n%s", tail(b, 3000))
			}
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("berth registry serve exited: %v\n%s", err, tail(b, 3000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("berth registry serve on %s not ready after 30s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// withoutOCIVars drops OCI_* variables a developer may have set, so the
// suite runs exactly as configured here.
func withoutOCIVars(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "OCI_") {
			out = append(out, kv)
		}
	}
	return out
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
