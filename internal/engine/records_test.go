package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"

	"github.com/berth-dev/berth/internal/engine/health"
	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/model/modeltest"
)

// legacyWeb and legacyDB are the specs in testdata/state-v1, a state
// directory written by the code before internal/model (see its README).
func legacyWeb() model.ServiceSpec { return modeltest.LegacyWeb() }

func legacyDB() model.ServiceSpec {
	return model.ServiceSpec{Name: "db", Image: "postgres@sha256:2222222222222222222222222222222222222222222222222222222222222222",
		Env: map[string]string{"PGDATA": "/var/lib/postgresql/data"}, Restart: model.RestartPolicy{Mode: model.RestartAlways}, Replicas: 1,
		DependsOn: map[string]string{}, Health: &model.HealthCheck{Test: []string{"CMD-SHELL", "pg_isready"}, Interval: time.Second, Retries: 10}}
}

func legacyContainers() []Container {
	started := time.Date(2025, 3, 4, 5, 6, 7, 890000000, time.UTC)
	web, db := legacyWeb(), legacyDB()
	return []Container{
		{ID: "fedcba9876543210fedcba9876543210", Name: "shop-db-1", Stack: "shop", Service: "db", Replica: 1,
			Image: "sha256:2222222222222222222222222222222222222222222222222222222222222222", ConfigHash: configHash(db, "sha256:2222222222222222222222222222222222222222222222222222222222222222"),
			IP: "10.89.0.4", Rootfs: "/var/lib/berth/containers/fedcba9876543210fedcba9876543210/rootfs",
			State: StateExited, ExitCode: 1, StartedAt: started, FinishedAt: started.Add(time.Hour), Spec: db, StopSignal: syscall.SIGTERM},
		{ID: "0123456789abcdef0123456789abcdef", Name: "shop-web-1", Stack: "shop", Service: "web", Replica: 1, Revision: 2,
			Image: "sha256:1111111111111111111111111111111111111111111111111111111111111111", ConfigHash: configHash(web, "sha256:1111111111111111111111111111111111111111111111111111111111111111"),
			IP: "10.89.0.5", NetNS: "/run/berth/netns/0123456789abcdef0123456789abcdef",
			Rootfs: "/var/lib/berth/containers/0123456789abcdef0123456789abcdef/rootfs", State: StateRunning, Health: health.Healthy,
			Restarts: 2, ExitCode: 137, OOMKilled: true, StartedAt: started, FinishedAt: started.Add(-time.Minute), Ports: web.Ports, Spec: web,
			StopSignal: syscall.SIGQUIT},
	}
}

// userKeyed are the objects whose keys are user data (variables, labels,
// service names), not field names.
var userKeyed = map[string]bool{"env": true, "labels": true, "dependsOn": true, "services": true}

// checkLowerCamel reports every object key of a JSON document that is not
// lower-camel, and every duration written as a number.
func checkLowerCamel(t *testing.T, file string, v any, path string) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			parent := path[strings.LastIndex(path, ".")+1:]
			if !userKeyed[parent] && (k == "" || !unicode.IsLower([]rune(k)[0]) || strings.ContainsAny(k, "_-")) {
				t.Errorf("%s: key %s%s is not lower-camel", file, path+".", k)
			}
			switch k {
			case "stopTimeout", "interval", "timeout", "startPeriod", "startInterval", "drainTimeout", "delay", "monitor", "readBody", "responseHeader", "write":
				if _, ok := x.(string); !ok && !userKeyed[parent] {
					t.Errorf("%s: %s.%s = %v, want a duration string", file, path, k, x)
				}
			}
			checkLowerCamel(t, file, x, path+"."+k)
		}
	case []any:
		for i, x := range v {
			checkLowerCamel(t, file, x, path+"["+string(rune('0'+i))+"]")
		}
	}
}

func copyFixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS("testdata/state-v1")); err != nil {
		t.Fatal(err)
	}
	return root
}

// A state directory written before internal/model loads with every field
// intact, and its records are rewritten once, lower-camel, with the config
// hashes of the current encoding.
func TestLegacyStateMigrates(t *testing.T) {
	root := copyFixture(t)
	records := []string{
		filepath.Join(root, "containers/0123456789abcdef0123456789abcdef/container.json"),
		filepath.Join(root, "containers/fedcba9876543210fedcba9876543210/container.json"),
		filepath.Join(root, "stacks/shop.json"),
	}
	for _, f := range records {
		raw, _ := os.ReadFile(f)
		if !strings.Contains(string(raw), `"Name"`) {
			t.Fatalf("%s is not in the old format", f)
		}
	}
	want := legacyContainers()
	rt := newFakeRuntime()
	// shop-web-1 still runs (its supervisor kept it running).
	rt.running[want[1].ID] = &fakeContainer{exit: make(chan Exit, 1), started: time.Now()}
	e := newTestEngine(t, root, rt, newFakeNets())

	if got := e.Containers(""); !reflect.DeepEqual(got, want) {
		t.Errorf("containers:\n got %+v\nwant %+v", got, want)
	}
	wantStack := model.StackSpec{Name: "shop", Services: []model.ServiceSpec{legacyDB(), legacyWeb()}}
	if got, ok := e.Stack("shop"); !ok || !reflect.DeepEqual(got, wantStack) {
		t.Errorf("stack:\n got %+v\nwant %+v", got, wantStack)
	}
	// The config hash is the one the same spec and image have now: berth up
	// with the unchanged stack replaces nothing.
	if want[1].ConfigHash == "d47d75de49e6641e5cca4118" || want[1].ConfigHash != ConfigHash(legacyWeb(), want[1].Image) {
		t.Errorf("web's config hash %s", want[1].ConfigHash)
	}
	if e.Containers("")[1].State != StateRunning {
		t.Errorf("the running container was not adopted as running")
	}
	e.Close()

	// On disk: rewritten in the current encoding, and read back the same.
	stats := map[string]os.FileInfo{}
	for i, f := range records {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		checkLowerCamel(t, f, doc, "")
		if i < 2 {
			var c Container
			if err := json.Unmarshal(raw, &c); err != nil || !reflect.DeepEqual(c, want[1-i]) {
				t.Errorf("%s reads back as %+v (%v)", f, c, err)
			}
		}
		stats[f], _ = os.Stat(f)
	}
	if raw, _ := os.ReadFile(records[0]); !strings.Contains(string(raw), `"workingDir": "/srv"`) ||
		!strings.Contains(string(raw), `"restart": {`+"\n"+`      "mode": "on-failure",`) || !strings.Contains(string(raw), `"stopTimeout": "25s"`) {
		t.Errorf("web's record:\n%s", raw)
	}

	// Once: a second daemon start leaves the records alone.
	e = newTestEngine(t, root, rt, newFakeNets())
	defer e.Close()
	if got := e.Containers(""); !reflect.DeepEqual(got, want) {
		t.Errorf("containers after a second start:\n got %+v\nwant %+v", got, want)
	}
	for _, f := range records {
		if st, err := os.Stat(f); err != nil || !os.SameFile(st, stats[f]) || !st.ModTime().Equal(stats[f].ModTime()) {
			t.Errorf("%s was written again", f)
		}
	}
}
