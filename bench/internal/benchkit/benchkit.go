// Package benchkit holds what every benchmark driver in bench/ does the same
// way: find the repository and build binaries from it, describe the host,
// run helper processes (a private dockerd, servers) and wait for them, take
// medians over rounds, and the command line itself: the -md, -json,
// -enforce and -keep flags, the reports and the exit status (driver.go).
package benchkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// ModuleRoot finds the berth checkout, so a driver (named tool in errors)
// works from any directory inside it.
func ModuleRoot(ctx context.Context, tool string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the berth module: run %s from the repository", tool)
	}
	return filepath.Dir(gomod), nil
}

// GoBuild builds pkg of the module at root into outPath.
func GoBuild(ctx context.Context, root, outPath, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", outPath, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return nil
}

// Host describes the machine a run happened on; facts that cannot be read
// stay empty rather than failing the benchmark. A driver's report metadata
// embeds it, so its JSON fields sit at the top of the "meta" object.
type Host struct {
	Date      string `json:"date"`
	CPU       string `json:"cpu"`
	CPUs      int    `json:"cpus"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"go_version"`
}

// String is the host as a report's "Host:" line shows it.
func (h Host) String() string {
	return fmt.Sprintf("%s, %d CPUs, %s, %s", h.CPU, h.CPUs, h.Kernel, h.GoVersion)
}

// ReadHost reads the host's facts now.
func ReadHost() Host {
	h := Host{Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				h.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	return h
}

// VersionLine is the first line a command prints, for a report's version
// labels: its stdout, else its stderr (nginx -v and wrk -v print there, and
// wrk -v exits 1, so the exit status is not looked at); "" when it prints
// nothing or cannot start. env is added to this process's environment.
func VersionLine(ctx context.Context, env []string, name string, args ...string) string {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	out := strings.TrimSpace(stdout.String())
	if out == "" {
		out = strings.TrimSpace(stderr.String())
	}
	line, _, _ := strings.Cut(out, "\n")
	return line
}
