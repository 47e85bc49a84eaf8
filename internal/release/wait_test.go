package release

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/health"
)

// TestWaitReady: WaitReady returns once every container runs and the
// ones with a health check are healthy, and times out naming the stack.
func TestWaitReady(t *testing.T) {
	starting := []engine.Container{{Name: "shop-web-1", State: engine.StateRunning, Health: health.Starting}, {Name: "shop-db-1", State: engine.StateRestarting}}
	ready := []engine.Container{{Name: "shop-web-1", State: engine.StateRunning, Health: health.Healthy}, {Name: "shop-db-1", State: engine.StateRunning}}
	var log calls
	d := &fakeDaemon{log: &log, states: [][]engine.Container{nil, starting, ready}}
	cs, err := WaitReady(context.Background(), d, "shop", time.Minute, time.Millisecond)
	if err != nil || len(cs) != 2 || len(log) != 3 {
		t.Fatalf("containers %v, err %v after %d polls", cs, err, len(log))
	}

	d = &fakeDaemon{log: &log, states: [][]engine.Container{starting}}
	cs, err = WaitReady(context.Background(), d, "shop", 20*time.Millisecond, time.Millisecond)
	if !errors.Is(err, ErrNotReady) || err.Error() != "stack shop not ready after 20ms" || len(cs) != 2 {
		t.Fatalf("timeout: %v, %v", cs, err)
	}
}
