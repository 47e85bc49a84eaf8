package engine

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/internal/model"
)

func TestAPIScaleKeepsReplicasAndSurvivesDaemonRestart(t *testing.T) {
	root := t.TempDir()
	imgs, rt, nets := newFakeImageStore(), newFakeRuntime(), newFakeNets()
	e, c := serveManageAPI(t, root, imgs, rt, nets)
	ctx := context.Background()
	spec := model.StackSpec{Services: []model.ServiceSpec{{Name: "db", Image: "db"}, {Name: "web", Image: "app", Replicas: 1}}}
	if err := c.Do(ctx, http.MethodPost, "/stacks/demo/up", nil, spec, nil); err != nil {
		t.Fatal(err)
	}
	ids := func(cs []Container) map[string]string {
		out := map[string]string{}
		for _, c := range cs {
			out[c.Name] = c.ID
		}
		return out
	}
	before := ids(e.Containers("demo"))

	var cs []Container
	if err := c.Do(ctx, http.MethodPost, "/stacks/demo/scale", nil, map[string]int{"web": 3}, &cs); err != nil {
		t.Fatal(err)
	}
	after := ids(cs)
	if len(after) != 4 || after["demo-web-3"] == "" {
		t.Fatalf("after scale web=3: %+v", cs)
	}
	// Scaling adds replicas; it never replaces the ones running.
	for name, id := range before {
		if after[name] != id {
			t.Fatalf("%s was replaced by scale (%s → %s)", name, id, after[name])
		}
	}
	if got, _ := e.Stack("demo"); got.Services[1].Replicas != 3 {
		t.Fatalf("recorded spec: %+v", got)
	}

	// A new daemon on the same root knows the stack's spec.
	e.Close()
	e2, c2 := serveManageAPI(t, root, imgs, rt, nets)
	if err := c2.Do(ctx, http.MethodPost, "/stacks/demo/scale", nil, map[string]int{"web": 1}, &cs); err != nil {
		t.Fatal(err)
	}
	if got := ids(cs); len(got) != 2 || got["demo-web-1"] != before["demo-web-1"] || got["demo-db-1"] != before["demo-db-1"] {
		t.Fatalf("after scale web=1 on a restarted daemon: %+v", cs)
	}

	wantAPIError(t, "unknown service", c2.Do(ctx, http.MethodPost, "/stacks/demo/scale", nil, map[string]int{"api": 2}, nil),
		http.StatusBadRequest, `stack demo has no service "api"`, "db, web")
	wantAPIError(t, "zero replicas", c2.Do(ctx, http.MethodPost, "/stacks/demo/scale", nil, map[string]int{"web": 0}, nil),
		http.StatusBadRequest, "want at least 1")
	wantAPIError(t, "unknown stack", c2.Do(ctx, http.MethodPost, "/stacks/nope/scale", nil, map[string]int{"web": 2}, nil),
		http.StatusNotFound, `unknown stack "nope"`, "berth up")

	// down forgets the stack.
	if err := c2.Do(ctx, http.MethodPost, "/stacks/demo/down", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := e2.Stack("demo"); ok {
		t.Fatal("stack still recorded after down")
	}
	if _, err := os.Stat(filepath.Join(root, "stacks", "demo.json")); !os.IsNotExist(err) {
		t.Fatalf("stack record after down: %v", err)
	}
	wantAPIError(t, "scale after down", c2.Do(ctx, http.MethodPost, "/stacks/"+url.PathEscape("demo")+"/scale", nil, map[string]int{"web": 2}, nil),
		http.StatusNotFound, "unknown stack")
}
