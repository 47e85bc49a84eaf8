package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The supervisor runs once per container for the container's lifetime, so
// what it links is its memory cost: nothing of the CLI, the registry, the
// builder or compose may creep in through the runtime package.
func TestLinksOnlyTheSupervisor(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/spf13/cobra",
		"github.com/compose-spec/",
		"github.com/google/go-containerregistry",
		"github.com/prometheus/",
		"go.etcd.io/bbolt",
		"github.com/containernetworking/",
		"github.com/berth-dev/berth/internal/registry",
		"github.com/berth-dev/berth/internal/build",
		"github.com/berth-dev/berth/internal/engine/network",
		"net/http",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(dep, f) {
				t.Errorf("berth-shim links %s", dep)
			}
		}
	}
}

// Usage errors exit with status 2 before touching anything.
func TestUsageErrorExitsTwo(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "berth-shim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{},
		{"--bundle", "/nonexistent", "--id", "x"},
		{"--bundle", "/nonexistent", "--id", "../x", "--log", "/nonexistent/log"},
		{"--no-such-flag"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "BERTH_SHIM_STATUS_FD=")
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 {
			t.Errorf("berth-shim %q: %v, want exit status 2\n%s", args, err, out)
		}
	}
}
