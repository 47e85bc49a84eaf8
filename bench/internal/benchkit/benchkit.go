// Package benchkit holds what every benchmark driver in bench/ does the same
// way: find the repository, build binaries from it, describe the host, and
// write the Markdown and JSON reports.
package benchkit

import (
	"context"
	"encoding/json"
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
// stay empty rather than failing the benchmark.
type Host struct {
	Date      string
	CPU       string
	CPUs      int
	Kernel    string
	GoVersion string
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

// WriteReports writes the Markdown report to mdPath and v as indented JSON
// to jsonPath; an empty path skips that file.
func WriteReports(mdPath, md, jsonPath string, v any) error {
	if mdPath != "" {
		if err := os.WriteFile(mdPath, []byte(md), 0o644); err != nil {
			return fmt.Errorf("write -md: %w", err)
		}
	}
	if jsonPath != "" {
		b, err := json.MarshalIndent(v, "", "  ")
		if err == nil {
			err = os.WriteFile(jsonPath, append(b, '\n'), 0o644)
		}
		if err != nil {
			return fmt.Errorf("write -json: %w", err)
		}
	}
	return nil
}
