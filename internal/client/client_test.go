package client

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/internal/engine/api"
)

// Ping without a daemon on the socket says so (api.ErrNoDaemon), which is
// what the release pipeline reports before building anything.
func TestPingWithoutDaemon(t *testing.T) {
	c := New(filepath.Join(t.TempDir(), "berth.sock"))
	if err := c.Ping(context.Background()); !errors.Is(err, api.ErrNoDaemon) {
		t.Errorf("Ping = %v, want ErrNoDaemon", err)
	}
}
