package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/proxy/proxyd"
)

// superviseProxy keeps the `berth proxy` process running while the daemon
// runs: when it exits (a crash, kill -9, the OOM killer) it is started
// again at once with the listening sockets the daemon holds (o.Holder) —
// the connections that arrived meanwhile waited in their backlog — and
// its last config from its state file, and the engine pushes the current
// routing to it. Restarts that
// fail are retried with backoff (100 ms doubling to 5 s). It returns when
// ctx ends.
func superviseProxy(ctx context.Context, o proxyd.EnsureOptions, eng *engine.Engine, log *slog.Logger) {
	c := proxyd.NewClient(o.Socket)
	for {
		err := c.Watch(ctx)
		if ctx.Err() != nil {
			return
		}
		log.Warn("the proxy is gone; starting it again", "err", err)
		backoff := 100 * time.Millisecond
		for {
			px, err := proxyd.Ensure(ctx, o)
			if err == nil {
				if err := eng.SetRouter(ctx, px.Hold(o.Holder)); err != nil {
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

// replaceOtherBinaryProxy replaces a proxy left running by another berth
// binary (the daemon was upgraded or rebuilt since): the config format it
// speaks may differ. The new proxy takes the old one's listening sockets
// over (proxyd.Upgrade), so no connection is refused; a proxy too old to
// hand them over is stopped and started again, and its ports pause for
// that restart. A proxy of the same binary is kept as it is.
func replaceOtherBinaryProxy(ctx context.Context, px *proxyd.Client, o proxyd.EnsureOptions, log *slog.Logger) (*proxyd.Client, error) {
	h, err := px.Health(ctx)
	if err != nil {
		return nil, err
	}
	same, err := sameExecutable(h.PID, o.Binary)
	if err != nil {
		log.Warn("cannot tell which binary the proxy runs; keeping it", "pid", h.PID, "err", err)
		return px, nil
	}
	if same {
		return px, nil
	}
	log.Info("the running proxy is another berth binary; handing its sockets to a new one", "pid", h.PID)
	npx, err := proxyd.Upgrade(ctx, o)
	if npx != nil {
		if err != nil {
			log.Warn("upgrading the proxy", "err", err)
		}
		return npx, nil
	}
	if !errors.Is(err, proxyd.ErrNoHandover) {
		return nil, fmt.Errorf("upgrading the proxy: %w", err)
	}
	log.Warn("the running proxy cannot hand over its sockets; restarting it (its ports pause)", "pid", h.PID, "err", err)
	if err := proxyd.Stop(ctx, o.Socket); err != nil {
		return nil, fmt.Errorf("stopping the proxy of another berth binary: %w", err)
	}
	return proxyd.Ensure(ctx, o)
}

// sameExecutable reports whether process pid runs the file at exe (the
// same inode: a binary replaced at the same path is another one).
func sameExecutable(pid int, exe string) (bool, error) {
	running, err := os.Stat(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false, err
	}
	want, err := os.Stat(exe)
	if err != nil {
		return false, err
	}
	return os.SameFile(running, want), nil
}
