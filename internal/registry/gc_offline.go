package registry

import (
	"context"
	"log/slog"

	"github.com/berth-dev/berth/internal/registry/gc"
)

// CollectOffline is `berth registry gc`: it opens cfg's root (which no
// server may hold open), collects garbage once and closes it again.
func CollectOffline(ctx context.Context, cfg Config, dryRun bool, log *slog.Logger) (gc.Report, error) {
	cfg.Log.Access = false
	reg, err := Open(cfg, log)
	if err != nil {
		return gc.Report{}, err
	}
	defer reg.Close()
	return reg.CollectGarbage(ctx, dryRun)
}
