package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/berth-dev/berth/internal/engine"
	proxyapi "github.com/berth-dev/berth/internal/proxy/api"
)

// superviseProxy keeps the `berth proxy` process running while the daemon
// runs: when it exits (a crash, kill -9, the OOM killer) it is started
// again at once — it reads its last config from its state file and listens
// again — and the engine pushes the current routing to it. Restarts that
// fail are retried with backoff (100 ms doubling to 5 s). It returns when
// ctx ends.
func superviseProxy(ctx context.Context, o proxyapi.EnsureOptions, eng *engine.Engine, log *slog.Logger) {
	c := proxyapi.NewClient(o.Socket)
	for {
		err := c.Watch(ctx)
		if ctx.Err() != nil {
			return
		}
		log.Warn("the proxy is gone; starting it again", "err", err)
		backoff := 100 * time.Millisecond
		for {
			px, err := proxyapi.Ensure(ctx, o)
			if err == nil {
				if err := eng.SetRouter(ctx, px); err != nil {
					log.Warn("bringing the restarted proxy up to date", "err", err)
				}
				log.Info("proxy restarted")
				break
			}
			if ctx.Err() != nil {
				return
			}
			log.Error("restarting the proxy", "err", err, "retry in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}
