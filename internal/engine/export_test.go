package engine

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// NewFakeEngine is an engine on the test fakes (the stateful image store,
// fake networks, a runtime whose execs print their arguments and exit 7),
// for the external tests of the route table and the typed client.
func NewFakeEngine(t *testing.T) *Engine {
	t.Helper()
	rt := newFakeRuntime()
	rt.execIO = func(_ context.Context, _ string, o ExecIO) (int, error) {
		_, err := io.WriteString(o.Stdout, strings.Join(o.Args, " "))
		return 7, err
	}
	e, err := New(t.TempDir(), newFakeImageStore(), rt, newFakeNets(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
