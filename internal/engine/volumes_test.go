package engine

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/model"
)

func TestAPIVolumesListAndRemove(t *testing.T) {
	root := t.TempDir()
	e, c := serveManageAPI(t, root, newFakeImageStore(), newFakeRuntime(), newFakeNets())
	ctx := context.Background()
	spec := model.StackSpec{Services: []model.ServiceSpec{{Name: "web", Image: "app", Replicas: 2,
		Mounts: []model.Mount{{Type: "volume", Source: "data", Target: "/data"}, {Type: "bind", Source: "/etc", Target: "/host"}}}}}
	if err := c.Do(ctx, http.MethodPost, "/stacks/demo/up", nil, spec, nil); err != nil {
		t.Fatal(err)
	}
	// The runtime creates a volume's directory when a container starts;
	// the fake does not, so the test writes it (and a volume nobody uses).
	data := filepath.Join(e.VolumeDir("data"), "_data")
	os.MkdirAll(data, 0o755)
	os.WriteFile(filepath.Join(data, "f"), []byte(strings.Repeat("x", 10000)), 0o644)
	os.MkdirAll(filepath.Join(e.VolumeDir("spare"), "_data"), 0o755)

	var vs []Volume
	if err := c.Do(ctx, http.MethodGet, "/volumes", nil, nil, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Name != "data" || vs[1].Name != "spare" {
		t.Fatalf("volumes: %+v", vs)
	}
	if vs[0].Size < 10000 || strings.Join(vs[0].Containers, ",") != "demo-web-1,demo-web-2" || vs[0].Path != data {
		t.Fatalf("volume data: %+v", vs[0])
	}
	if len(vs[1].Containers) != 0 {
		t.Fatalf("volume spare: %+v", vs[1])
	}

	wantAPIError(t, "rm in use", c.Do(ctx, http.MethodDelete, "/volumes/data", nil, nil, nil),
		http.StatusConflict, "volume data is in use by container(s) demo-web-1, demo-web-2")
	wantAPIError(t, "rm unknown", c.Do(ctx, http.MethodDelete, "/volumes/nothing", nil, nil, nil), http.StatusNotFound, "no such volume: nothing")
	wantAPIError(t, "rm bad name", c.Do(ctx, http.MethodDelete, "/volumes/a%5Cb", nil, nil, nil), http.StatusBadRequest, "is invalid")
	if err := c.Do(ctx, http.MethodDelete, "/volumes/spare", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(e.VolumeDir("spare")); !os.IsNotExist(err) {
		t.Fatalf("spare still there: %v", err)
	}
	if err := c.Do(ctx, http.MethodPost, "/stacks/demo/down", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, http.MethodDelete, "/volumes/data", nil, nil, nil); err != nil {
		t.Fatalf("rm after down: %v", err)
	}
	if c.Do(ctx, http.MethodGet, "/volumes", nil, nil, &vs); len(vs) != 0 {
		t.Fatalf("volumes at the end: %+v", vs)
	}
}
