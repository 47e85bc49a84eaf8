package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Sockets are the two sockets a Server answers on, bound to the same
// address.
type Sockets struct {
	UDP net.PacketConn
	TCP net.Listener
}

// Close closes both (either may be nil).
func (s Sockets) Close() error {
	var errs []error
	if s.UDP != nil {
		errs = append(errs, s.UDP.Close())
	}
	if s.TCP != nil {
		errs = append(errs, s.TCP.Close())
	}
	return errors.Join(errs...)
}

// freebind sets IP_FREEBIND, which lets a server bind the gateway address
// even before the bridge carrying it exists (the bridge plugin creates it
// on the first Attach).
var freebind = net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
	}); err != nil {
		return err
	}
	return serr
}}

// ListenUDP binds the UDP socket of a server on addr ("IP:port").
func ListenUDP(addr string) (net.PacketConn, error) {
	pc, err := freebind.ListenPacket(context.Background(), "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("DNS server: listen on udp %s: %w", addr, err)
	}
	return pc, nil
}

// ListenTCP binds the TCP socket of a server on addr ("IP:port").
func ListenTCP(addr string) (net.Listener, error) {
	ln, err := freebind.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("DNS server: listen on tcp %s: %w", addr, err)
	}
	return ln, nil
}

// Listen binds both sockets of a server on addr.
func Listen(addr string) (Sockets, error) {
	pc, err := ListenUDP(addr)
	if err != nil {
		return Sockets{}, err
	}
	ln, err := ListenTCP(addr)
	if err != nil {
		pc.Close()
		return Sockets{}, err
	}
	return Sockets{UDP: pc, TCP: ln}, nil
}

// files duplicates both sockets (close-on-exec), leaving the originals as
// they are.
func (s Sockets) files() (udp, tcp *os.File, err error) {
	if udp, err = dupSocket(s.UDP); err != nil {
		return nil, nil, fmt.Errorf("DNS server: udp socket: %w", err)
	}
	if tcp, err = dupSocket(s.TCP); err != nil {
		udp.Close()
		return nil, nil, fmt.Errorf("DNS server: tcp socket: %w", err)
	}
	return udp, tcp, nil
}

// dupSocket duplicates a socket's descriptor without touching the
// original's blocking mode (as (*net.UDPConn).File might).
func dupSocket(v any) (*os.File, error) {
	sc, ok := v.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("%T is not a socket", v)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var derr error
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	return os.NewFile(uintptr(nfd), "dns socket"), nil
}
