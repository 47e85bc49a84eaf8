package registry

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

func TestCollectOfflineReleasesTheRoot(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Root = t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Twice: the first run must close the database it opened.
	for i := range 2 {
		rep, err := CollectOffline(context.Background(), cfg, i == 0, log)
		if err != nil || len(rep.Blobs) != 0 {
			t.Fatalf("run %d: %+v, %v", i, rep, err)
		}
	}
	reg, err := Open(cfg, log)
	if err != nil {
		t.Fatalf("the root is still held: %v", err)
	}
	reg.Close()
}
