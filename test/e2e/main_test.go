package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// suite holds what TestMain prepares once for every test of the package.
var suite struct {
	repoRoot string // module root, where go.mod is
	workDir  string // process-wide scratch dir, removed after the run
	kind     string // registry under test: kindBerth or kindDistribution

	berthBin string // built berth binary; empty when kind is not berth
	buildErr error  // why berth could not be built; reported by every test that needs it
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	root, err := findRepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	suite.repoRoot = root

	kind, err := registryKindFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	suite.kind = kind

	// Tools installed by scripts/deps.sh (crane, regctl) live in <repo>/bin.
	os.Setenv("PATH", filepath.Join(root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))

	work, err := os.MkdirTemp("", "berth-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	defer os.RemoveAll(work)
	suite.workDir = work

	if kind == kindBerth {
		// A build failure is reported per test (t.Fatal) instead of aborting
		// here, so `go test` still lists which tests ran and skips stay skips.
		suite.berthBin, suite.buildErr = buildBerth(root, work)
	}
	return m.Run()
}

// findRepoRoot walks up from the test's working directory (the package dir)
// to the directory holding go.mod.
func findRepoRoot() (string, error) {
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

func buildBerth(root, work string) (string, error) {
	bin := filepath.Join(work, "berth")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/berth")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/berth: %v\n%s", err, out)
	}
	return bin, nil
}
