package remote

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/stack"
)

// TestSelect: the stack commands go to the daemon unless -E names an
// environment whose stack file entry has kubernetes:, and then to that
// cluster (here a kubeconfig that does not exist: Open's error, naming
// the environment, shows the cluster was chosen).
func TestSelect(t *testing.T) {
	daemon := client.New("/nonexistent.sock")
	targets := func() (map[string]stack.Target, error) {
		return map[string]stack.Target{
			"prod":  {Env: "prod"},
			"kube1": {Env: "kube1", Kubernetes: &stack.Kubernetes{Kubeconfig: filepath.Join(t.TempDir(), "missing")}},
		}, nil
	}
	for _, env := range []string{"", "prod", "nosuch"} {
		b, err := Select(env, targets, daemon)
		if err != nil || b != Stack(daemon) {
			t.Errorf("Select(%q) = %v, %v; want the daemon", env, b, err)
		}
	}
	if b, err := Select("kube1", nil, daemon); err != nil || b != Stack(daemon) {
		t.Errorf("Select without targets = %v, %v; want the daemon", b, err)
	}
	if _, err := Select("kube1", targets, daemon); err == nil || !strings.Contains(err.Error(), "environments.kube1.kubernetes") {
		t.Errorf("Select(kube1) error = %v; want the cluster's (environments.kube1.kubernetes: ...)", err)
	}
	boom := errors.New("berth.yaml: bad")
	if _, err := Select("prod", func() (map[string]stack.Target, error) { return nil, boom }, daemon); !errors.Is(err, boom) {
		t.Errorf("Select with unreadable targets = %v; want %v", err, boom)
	}
}
