package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/model"
)

// TestOptionalDependencyDoesNotHoldBack: depends_on with required: false
// on a service that exits badly starts the dependent anyway; the same
// dependency required fails it.
func TestOptionalDependencyDoesNotHoldBack(t *testing.T) {
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	rt.exitCode["migrate"] = 1
	spec := model.StackSpec{Name: "s", Services: []model.ServiceSpec{
		{Name: "migrate", Image: "m", Replicas: 1},
		{Name: "app", Image: "a", Replicas: 1, DependsOn: map[string]string{"migrate": "service_completed_successfully"}, OptionalDeps: []string{"migrate"}},
	}}
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatalf("optional dependency failing: %v", err)
	}
	if len(rt.starts["s-app-1"]) == 0 {
		t.Fatal("app not started")
	}
	spec.Name = "r"
	spec.Services[1].OptionalDeps = nil
	if err := e.Up(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "exited with code 1") {
		t.Fatalf("required dependency failing: %v", err)
	}
}

// TestDownKeepsExternalVolumes: down -v removes the stack's volumes but
// not an external one, which belongs to someone else.
func TestDownKeepsExternalVolumes(t *testing.T) {
	root := t.TempDir()
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, root, rt, nets)
	defer e.Close()
	for _, v := range []string{"s_data", "shared"} {
		if err := os.MkdirAll(filepath.Join(e.VolumeDir(v), "_data"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	spec := model.StackSpec{Name: "s", Services: []model.ServiceSpec{{Name: "web", Image: "x", Replicas: 1, Mounts: []model.Mount{
		{Type: "volume", Source: "s_data", Target: "/data"},
		{Type: "volume", Source: "shared", Target: "/shared", External: true},
	}}}}
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if err := e.Down(context.Background(), "s", true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(e.VolumeDir("s_data")); err == nil {
		t.Error("the stack's volume survived down -v")
	}
	if _, err := os.Stat(e.VolumeDir("shared")); err != nil {
		t.Errorf("the external volume was removed: %v", err)
	}
}

func TestContainerConfigHostnameAndConfigs(t *testing.T) {
	svc := model.ServiceSpec{Name: "web", Hostname: "web-host", Configs: []model.Config{{Name: "c", Target: "/c", Content: "x"}}}
	cfg := containerConfig(Container{ID: "id", Name: "s-web-1"}, svc, ImageInfo{}, "/rootfs", "/dir")
	if cfg.Hostname != "web-host" || len(cfg.Configs) != 1 {
		t.Errorf("hostname %q configs %v", cfg.Hostname, cfg.Configs)
	}
	svc.Hostname = ""
	if cfg := containerConfig(Container{ID: "id", Name: "s-web-1"}, svc, ImageInfo{}, "/rootfs", "/dir"); cfg.Hostname != "s-web-1" {
		t.Errorf("default hostname %q", cfg.Hostname)
	}
}
