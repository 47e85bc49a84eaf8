package engine

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/model"
)

// TestUpOnlySomeServices: berth up SERVICE... sends the whole stack with
// Only: just those services are created or replaced; the others' containers
// stay as they are, and the stack's record keeps every service.
func TestUpOnlySomeServices(t *testing.T) {
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	spec := model.StackSpec{Name: "shop", Services: []model.ServiceSpec{
		{Name: "db", Image: "db", Replicas: 1},
		{Name: "web", Image: "app", Replicas: 1, DependsOn: map[string]string{"db": "service_started"}},
		{Name: "worker", Image: "app", Replicas: 1},
	}}
	only := spec
	only.Only = []string{"db", "web"}
	if err := e.Up(context.Background(), only); err != nil {
		t.Fatal(err)
	}
	names := func() string {
		var ns []string
		for _, c := range e.Containers("shop") {
			ns = append(ns, c.Name)
		}
		return strings.Join(ns, " ")
	}
	if got := names(); got != "shop-db-1 shop-web-1" {
		t.Fatalf("containers after up web: %s", got)
	}
	e.mu.Lock()
	rec := e.stacks["shop"]
	e.mu.Unlock()
	if len(rec.Services) != 3 || rec.Only != nil {
		t.Fatalf("record: %+v", rec)
	}
	// Up of worker alone leaves web's container (and its ID) in place.
	web := e.Containers("shop")[1].ID
	only.Only = []string{"worker"}
	only.Services[1].Env = map[string]string{"CHANGED": "1"}
	if err := e.Up(context.Background(), only); err != nil {
		t.Fatal(err)
	}
	if got := names(); got != "shop-db-1 shop-web-1 shop-worker-1" || e.Containers("shop")[1].ID != web {
		t.Fatalf("containers after up worker: %s", got)
	}
	only.Only = []string{"nosuch"}
	if err := e.Up(context.Background(), only); err == nil || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Fatalf("up nosuch: %v", err)
	}
}

// TestDownWithinGrace: berth down -t N gives each container N between the
// stop signal and SIGKILL instead of its stop_grace_period.
func TestDownWithinGrace(t *testing.T) {
	rt, nets := newFakeRuntime(), newFakeNets()
	rt.ignoreSig = syscall.SIGTERM
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	spec := model.StackSpec{Name: "shop", Services: []model.ServiceSpec{{Name: "web", Image: "app", Replicas: 1, StopTimeout: time.Hour}}}
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	id := e.Containers("shop")[0].ID
	done := make(chan error, 1)
	go func() { done <- e.DownWithin(context.Background(), "shop", false, 20*time.Millisecond) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("down -t waited out the hour-long stop_grace_period")
	}
	rt.mu.Lock()
	kills := rt.kills[id]
	rt.mu.Unlock()
	if len(kills) != 2 || kills[0] != syscall.SIGTERM || kills[1] != syscall.SIGKILL {
		t.Fatalf("signals: %v", kills)
	}
}
