package engine

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/model"
)

func TestAPIPruneRemovesOnlyWhatIsUnused(t *testing.T) {
	root := t.TempDir()
	imgs, rt := newFakeImageStore(), newFakeRuntime()
	rt.exitCode["job"] = 0 // a one-shot that finished
	rt.exitCode["crashy"] = 1
	e, c := serveManageAPI(t, root, imgs, rt, newFakeNets())
	ctx := context.Background()
	spec := model.StackSpec{Services: []model.ServiceSpec{
		{Name: "web", Image: "app", Mounts: []model.Mount{{Type: "volume", Source: "data", Target: "/data"}}},
		{Name: "job", Image: "jobimg", Restart: model.RestartPolicy{Mode: model.RestartNo}},
		// Restarted by policy: never pruned, whatever its state.
		{Name: "crashy", Image: "app", Restart: model.RestartPolicy{Mode: model.RestartAlways}},
	}}
	if err := c.Do(ctx, http.MethodPost, "/stacks/demo/up", nil, spec, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := imgs.Pull(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"data", "orphan"} {
		os.MkdirAll(filepath.Join(e.VolumeDir(v), "_data"), 0o755)
	}
	eventually(t, "job exited", func() bool {
		for _, c := range e.Containers("demo") {
			if c.Name == "demo-job-1" {
				return c.State == StateExited
			}
		}
		return false
	})

	var rep PruneReport
	if err := c.Do(ctx, http.MethodPost, "/prune", nil, nil, &rep); err != nil {
		t.Fatal(err)
	}
	if strings.Join(rep.Containers, ",") != "demo-job-1" || strings.Join(rep.Images, ",") != "jobimg,old" ||
		rep.Snapshots != 2 || len(rep.Volumes) != 0 || len(rep.Errors) != 0 {
		t.Fatalf("prune: %+v", rep)
	}
	names := map[string]bool{}
	for _, c := range e.Containers("") {
		names[c.Name] = true
	}
	if len(names) != 2 || !names["demo-web-1"] || !names["demo-crashy-1"] {
		t.Fatalf("containers after prune: %v", names)
	}
	if list, _ := imgs.List(); len(list) != 1 || list[0].Names[0] != "app" {
		t.Fatalf("images after prune: %+v", list)
	}
	if _, err := os.Stat(e.VolumeDir("orphan")); err != nil {
		t.Fatalf("prune without --volumes removed a volume: %v", err)
	}

	if err := c.Do(ctx, http.MethodPost, "/prune", url.Values{"volumes": {"1"}}, nil, &rep); err != nil {
		t.Fatal(err)
	}
	if strings.Join(rep.Volumes, ",") != "orphan" || len(rep.Containers) != 0 || len(rep.Images) != 0 {
		t.Fatalf("prune --volumes: %+v", rep)
	}
	if _, err := os.Stat(e.VolumeDir("data")); err != nil {
		t.Fatalf("prune removed a volume in use: %v", err)
	}
}
