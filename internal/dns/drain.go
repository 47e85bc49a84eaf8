package dns

import (
	"net"
	"time"
)

// drainGrace is how long a TCP connection the server accepted still gets
// for a query once the server stops.
const drainGrace = time.Second

// drainingListener hands out connections that finish their work when the
// server stops. miekg/dns's Shutdown unblocks every connection's read by
// setting a deadline in the past, so a query the client had sent but the
// server not yet read was dropped with the connection (the client sees a
// reset). Across an upgrade that is a lost query: the listening socket
// moves to the next process, but a connection this process accepted can
// only be answered here. With the deadline moved to drainGrace from now,
// the pending query is read and answered; the serve loop then ends, since
// the server is no longer started, and the connection closes cleanly.
type drainingListener struct{ net.Listener }

func (l drainingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return drainingConn{c}, nil
}

type drainingConn struct{ net.Conn }

// SetReadDeadline turns "now or earlier" (only Shutdown asks for that;
// reads ask for a time ahead) into a short grace period.
func (c drainingConn) SetReadDeadline(t time.Time) error {
	if !t.IsZero() && !t.After(time.Now()) {
		t = time.Now().Add(drainGrace)
	}
	return c.Conn.SetReadDeadline(t)
}
