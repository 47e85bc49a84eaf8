package proxyd

import (
	"context"
	"errors"
	"net"
	"time"
)

// Watch returns when the proxy serving c's socket has gone away, or when
// ctx ends (with ctx's error). It holds an idle connection to the socket,
// which the kernel closes the moment the proxy process exits, so a crashed
// proxy is noticed at once, without polling. When the connection ends
// while the proxy still answers (the proxy closes connections that send no
// request within its header timeout), it connects again.
func (c *Client) Watch(ctx context.Context) error {
	for {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "unix", c.socket)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return errors.Join(ErrNotRunning, err)
		}
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		var b [1]byte
		_, _ = conn.Read(b[:]) // the proxy never writes unasked: this ends when the connection does
		stop()
		conn.Close()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := c.stillThere(ctx); err != nil {
			return err
		}
	}
}

// stillThere asks the proxy whether it answers, after the watched
// connection ended: nil when it does, ErrNotRunning when nothing listens.
// A dying proxy may still accept a connection and then reset it; that is
// asked again for a moment before it counts as gone.
func (c *Client) stillThere(ctx context.Context) error {
	var err error
	for range 10 {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err = c.Ping(pctx)
		cancel()
		if err == nil || errors.Is(err, ErrNotRunning) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
