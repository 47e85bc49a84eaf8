package release

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/model"
)

type fakeUpper struct {
	*fakeDaemon
	got model.StackSpec
	up  []engine.Container
}

func (u *fakeUpper) Up(_ context.Context, spec model.StackSpec) ([]engine.Container, error) {
	u.got = spec
	return u.up, nil
}

// TestUp: berth up prepares the stack, starts the services named (none:
// every one) and, with Wait, returns a WaitError with the containers last
// seen when the stack is not ready in time; an unknown service is refused
// before anything is built.
func TestUp(t *testing.T) {
	f := newFixture()
	running := []engine.Container{{Name: "shop-web-1", State: engine.StateRunning}}
	f.d.states = [][]engine.Container{running}
	u := &fakeUpper{fakeDaemon: f.d, up: running}
	ctx := context.Background()
	cs, err := f.p.Up(ctx, shop(), u, UpRequest{Services: []string{"web"}})
	if err != nil || !slices.Equal(u.got.Only, []string{"web"}) || u.got.Name != "shop" || len(cs) != 1 {
		t.Fatalf("up web: %v, only %v, containers %v", err, u.got.Only, cs)
	}
	if strings.Contains(strings.Join(f.log.with("containers"), ","), "shop") {
		t.Error("waited without Wait")
	}
	if _, err := f.p.Up(ctx, shop(), u, UpRequest{Wait: true}); err != nil || u.got.Only != nil {
		t.Errorf("up --wait of a ready stack: %v, only %v", err, u.got.Only)
	}
	exited := []engine.Container{{Name: "shop-web-1", State: engine.StateExited}}
	f.d.states = [][]engine.Container{exited}
	cs, err = f.p.Up(ctx, shop(), u, UpRequest{Wait: true, WaitTimeout: 0})
	var we *WaitError
	if !errors.As(err, &we) || !errors.Is(err, ErrNotReady) || len(cs) != 1 || cs[0].State != engine.StateExited {
		t.Errorf("up --wait of a stack not ready: %v, containers %v; want a WaitError and what was seen", err, cs)
	}
	builds := len(f.log.with("build"))
	if _, err := f.p.Up(ctx, shop(), u, UpRequest{Services: []string{"nosuch"}}); err == nil || errors.As(err, &we) || len(f.log.with("build")) != builds {
		t.Errorf("up nosuch: %v (builds %d → %d)", err, builds, len(f.log.with("build")))
	}
}
