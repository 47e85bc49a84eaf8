package api

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
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = c.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}
