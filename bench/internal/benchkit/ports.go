package benchkit

import (
	"fmt"
	"net"
	"strconv"
)

// FreePort asks the kernel for an unused loopback TCP port for a server a
// benchmark starts. Another process could take it before the server binds;
// the server's start then fails clearly.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeAddr is FreePort as a 127.0.0.1:port address.
func FreeAddr() (string, error) {
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}
