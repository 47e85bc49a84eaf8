package proxyd

import (
	"context"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
)

// Holder keeps a duplicate of each of the proxy's listening sockets (and
// of its DNS zones' UDP and TCP sockets) in the daemon, so that they stay
// open — and keep queueing connections and queries — while the proxy
// process is restarted or replaced, and hands them to the proxy process
// Ensure starts. It must hold exactly the proxy's current
// sockets: a socket it kept after the proxy dropped its port would keep
// that port bound (new connections would wait unanswered, and binding it
// again would fail), so it is brought up to date after every Apply
// (HeldClient) and forgets everything when it cannot be.
type Holder struct {
	mu    sync.Mutex
	addrs []string
	files []*os.File
	apply sync.Mutex // one Apply + Refresh at a time, so the sockets match the last Apply
}

// Refresh replaces the held sockets with the proxy's current ones. When
// the proxy answers but does not hand them over, the holder holds nothing
// (see Holder); when it is gone, the held sockets are kept: they are what
// the next proxy process inherits.
func (h *Holder) Refresh(ctx context.Context, c *Client) error {
	addrs, files, err := c.ListenerFiles(ctx)
	if err != nil {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		perr := c.Ping(pctx)
		cancel()
		if perr != nil {
			return err
		}
	}
	h.mu.Lock()
	old := h.files
	h.addrs, h.files = addrs, files
	h.mu.Unlock()
	for _, f := range old {
		f.Close()
	}
	return err
}

// Addrs returns the addresses of the held sockets.
func (h *Holder) Addrs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.addrs)
}

// Close closes the held sockets (the proxy's own stay open).
func (h *Holder) Close() {
	h.mu.Lock()
	old := h.files
	h.addrs, h.files = nil, nil
	h.mu.Unlock()
	for _, f := range old {
		f.Close()
	}
}

// with runs fn with the held sockets, which stay open until fn returns.
func (h *Holder) with(fn func(addrs []string, files []*os.File) error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return fn(h.addrs, h.files)
}

// HeldClient is a Client whose Apply also brings a Holder up to date.
type HeldClient struct {
	*Client
	h *Holder
}

// Hold returns c with every successful Apply followed by h.Refresh.
func (c *Client) Hold(h *Holder) *HeldClient { return &HeldClient{Client: c, h: h} }

// Apply is Client.Apply, then the holder takes the proxy's sockets as
// they are now. A failed refresh does not fail the Apply (the config is
// live). A failed Apply changed nothing, and the held sockets stay (a
// proxy that is gone is restarted with them).
func (c *HeldClient) Apply(ctx context.Context, cfg proxy.Config) error {
	c.h.apply.Lock()
	defer c.h.apply.Unlock()
	err := c.Client.Apply(ctx, cfg)
	if err == nil {
		_ = c.h.Refresh(ctx, c.Client)
	}
	return err
}
