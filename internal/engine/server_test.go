package engine

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/engine/api"
	"github.com/berth-dev/berth/internal/engine/logs"
	"github.com/berth-dev/berth/internal/model"
)

func TestAPIUpPsLogsDown(t *testing.T) {
	root := t.TempDir()
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, root, rt, nets)
	defer e.Close()
	sock := filepath.Join(t.TempDir(), "berth.sock")
	l, err := api.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: testHandler(e)}
	go srv.Serve(l)
	defer srv.Close()
	c := api.NewClient(sock)
	ctx := context.Background()

	spec := model.StackSpec{Services: []model.ServiceSpec{{Name: "web", Image: "x", Replicas: 2}}}
	var cs []Container
	if err := c.Do(ctx, http.MethodPost, "/stacks/demo/up", nil, spec, &cs); err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Name != "demo-web-1" {
		t.Fatalf("up: %+v", cs)
	}
	// Each replica logged a line (as the supervisor would).
	for i, cn := range cs {
		b, _ := json.Marshal(logs.Entry{Time: time.Unix(int64(100+i), 0).UTC(), Stream: "stdout", Log: "hello from " + cn.Name + "\n"})
		os.WriteFile(e.LogFile(cn.ID), append(b, '\n'), 0o644)
	}
	var got []logs.Entry
	err = c.Stream(ctx, http.MethodGet, "/stacks/demo/logs", url.Values{"service": {"web"}}, nil, func(raw json.RawMessage) error {
		var en logs.Entry
		json.Unmarshal(raw, &en)
		got = append(got, en)
		return nil
	})
	if err != nil || len(got) != 2 || got[0].Source != "demo-web-1" || got[1].Log != "hello from demo-web-2\n" {
		t.Fatalf("logs: %+v %v", got, err)
	}
	var ps []Container
	if err := c.Do(ctx, http.MethodGet, "/containers", url.Values{"stack": {"demo"}}, nil, &ps); err != nil || len(ps) != 2 {
		t.Fatalf("ps: %+v %v", ps, err)
	}
	if err := c.Do(ctx, http.MethodPost, "/stacks/demo/down", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, http.MethodGet, "/containers", url.Values{"stack": {"demo"}}, nil, &ps); err != nil || len(ps) != 0 {
		t.Fatalf("ps after down: %+v %v", ps, err)
	}
	// Bad input gets a clear error, not a 500.
	err = c.Do(ctx, http.MethodPost, "/stacks/demo/up", nil, model.StackSpec{Services: []model.ServiceSpec{{Name: "web", Image: "missing"}}}, nil)
	var ae *api.Error
	if err == nil || !asAPIError(err, &ae) || ae.Status != http.StatusConflict {
		t.Fatalf("unknown image: %v", err)
	}
}

func asAPIError(err error, target **api.Error) bool {
	e, ok := err.(*api.Error)
	if ok {
		*target = e
	}
	return ok
}

// testHandler serves the engine's part of the real route table (the
// daemon adds the deployer's).
func testHandler(e *Engine) http.Handler {
	return api.Mux(api.Routes(api.VersionInfo{Version: "test", Root: e.root}, e, nil))
}

// TestAPILogsSeveralServices: service= repeats (berth logs web worker);
// a named service without containers is a 404 naming it.
func TestAPILogsSeveralServices(t *testing.T) {
	root := t.TempDir()
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, root, rt, nets)
	defer e.Close()
	sock := filepath.Join(t.TempDir(), "berth.sock")
	l, err := api.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: testHandler(e)}
	go srv.Serve(l)
	defer srv.Close()
	c := api.NewClient(sock)
	ctx := context.Background()
	spec := model.StackSpec{Services: []model.ServiceSpec{{Name: "web", Image: "x", Replicas: 1}, {Name: "worker", Image: "x", Replicas: 1}, {Name: "db", Image: "x", Replicas: 1}}}
	var cs []Container
	if err := c.Do(ctx, http.MethodPost, "/stacks/demo/up", nil, spec, &cs); err != nil {
		t.Fatal(err)
	}
	for i, cn := range cs {
		b, _ := json.Marshal(logs.Entry{Time: time.Unix(int64(100+i), 0).UTC(), Stream: "stdout", Log: "hello from " + cn.Name + "\n"})
		os.WriteFile(e.LogFile(cn.ID), append(b, '\n'), 0o644)
	}
	read := func(services ...string) ([]string, error) {
		var got []string
		err := c.Stream(ctx, http.MethodGet, "/stacks/demo/logs", url.Values{"service": services}, nil, func(raw json.RawMessage) error {
			var en logs.Entry
			json.Unmarshal(raw, &en)
			got = append(got, en.Source)
			return nil
		})
		return got, err
	}
	got, err := read("web", "worker")
	if err != nil || len(got) != 2 || !slices.Contains(got, "demo-web-1") || !slices.Contains(got, "demo-worker-1") {
		t.Fatalf("logs web worker: %v %v", got, err)
	}
	_, err = read("web", "nosuch")
	var ae *api.Error
	if err == nil || !asAPIError(err, &ae) || ae.Status != http.StatusNotFound || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Fatalf("unknown service: %v", err)
	}
}
