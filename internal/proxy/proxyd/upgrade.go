package proxyd

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// ErrNoHandover means the running proxy cannot hand its sockets over (a
// proxy of an older berth, or a holder-less call): Upgrade did nothing.
var ErrNoHandover = errors.New("the running proxy cannot hand over its listening sockets")

// upgradeExitTimeout bounds the wait for the replaced proxy to finish its
// requests in flight and exit (its Close takes up to 5 s, its API 2 s).
const upgradeExitTimeout = 10 * time.Second

// Upgrade replaces the proxy running on o.Socket with a new process of
// o.Binary without refusing a connection or dropping a DNS query: the new
// process starts with the old one's listening and DNS sockets (o.Holder
// takes them over SCM_RIGHTS first) and the saved config, serves them at
// once alongside the old one, and takes the API socket's name over; then
// the old one gets SIGTERM: it stops accepting, answers its requests in
// flight (each with "Connection: close") and exits. The sockets are never closed, so no
// client is refused and none waits for a restart.
//
// With a proxy that cannot hand over its sockets it returns ErrNoHandover
// and changes nothing.
func Upgrade(ctx context.Context, o EnsureOptions) (*Client, error) {
	if o.Holder == nil {
		return nil, ErrNoHandover
	}
	ensureMu.Lock()
	defer ensureMu.Unlock()
	c := NewClient(o.Socket)
	old, err := c.Health(ctx)
	if err != nil {
		return nil, err
	}
	if err := o.Holder.Refresh(ctx, c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoHandover, err)
	}
	c, _, err = start(ctx, o, true)
	if err != nil {
		return nil, fmt.Errorf("starting the new proxy: %w", err)
	}
	if err := syscall.Kill(old.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return c, fmt.Errorf("stopping the old proxy (pid %d): %w", old.PID, err)
	}
	wctx, cancel := context.WithTimeout(ctx, upgradeExitTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for alive(old.PID) {
		select {
		case <-wctx.Done():
			return c, fmt.Errorf("the old proxy (pid %d) did not exit: %w", old.PID, wctx.Err())
		case <-tick.C:
		}
	}
	return c, nil
}
