package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// installHint is what a skipped or failed test tells the developer to do.
const installHint = "install the e2e tools with: sudo scripts/deps.sh"

// commandTimeout bounds every external command so a hung client fails the
// test instead of the whole `go test -timeout`.
const commandTimeout = 3 * time.Minute

// mustHaveDeps reports whether missing prerequisites fail the test instead of
// skipping it: in CI, or when the developer asks for it.
func mustHaveDeps() bool {
	return os.Getenv("CI") != "" || os.Getenv("BERTH_E2E_REQUIRE") == "1"
}

// skipOrFail skips the test, or fails it when prerequisites are mandatory.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if mustHaveDeps() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// requireTools checks that every named program is on PATH.
func requireTools(t testing.TB, names ...string) {
	t.Helper()
	var missing []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		skipOrFail(t, "missing %s; %s", strings.Join(missing, ", "), installHint)
	}
}

// requireRoot checks for uid 0: dockerd and podman's storage need it.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root (dockerd, podman storage); run the suite as root")
	}
}

// cmdResult is what one finished command produced.
type cmdResult struct {
	Stdout string
	Stderr string
	Err    error
}

// runEnv runs a command with extra environment variables and returns its
// output whatever the exit status.
func runEnv(t testing.TB, env []string, name string, args ...string) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("$ %s %s  (%v, %s)", name, strings.Join(args, " "), exitStatus(err), time.Since(start).Round(time.Millisecond))
	return cmdResult{Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
}

func exitStatus(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// mustRunEnv runs a command and fails the test, with all its output, unless
// it exits 0. It returns stdout.
func mustRunEnv(t testing.TB, env []string, name string, args ...string) string {
	t.Helper()
	r := runEnv(t, env, name, args...)
	if r.Err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), r.Err, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// mustRun is mustRunEnv without extra environment.
func mustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	return mustRunEnv(t, nil, name, args...)
}

// mustFail runs a command that is expected to fail and returns its output.
func mustFailEnv(t testing.TB, env []string, name string, args ...string) cmdResult {
	t.Helper()
	r := runEnv(t, env, name, args...)
	if r.Err == nil {
		t.Fatalf("%s %s: succeeded, want failure\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), r.Stdout, r.Stderr)
	}
	return r
}
