package proxy

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"syscall"
)

// ListenerFiles returns a duplicate of every listening socket, by the
// configured Addr, for handing to another process (see package
// proxy/proxyd): the kernel keeps a socket open, and keeps queueing
// connections on it, for as long as any process holds a descriptor of it,
// so a proxy process that dies or is replaced does not refuse anyone while
// its successor starts. The caller closes the files; the proxy's own
// sockets are not affected.
func (p *Proxy) ListenerFiles() (addrs []string, files []*os.File, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, addr := range slices.Sorted(maps.Keys(p.listeners)) {
		sc, ok := p.listeners[addr].ln.(syscall.Conn)
		if !ok {
			continue // not a socket (tests' fake listeners)
		}
		f, ferr := dupSocket(sc)
		if ferr != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, nil, fmt.Errorf("proxy listener %s: %w", addr, ferr)
		}
		addrs = append(addrs, addr)
		files = append(files, f)
	}
	return addrs, files, nil
}

// dupSocket duplicates a socket's descriptor (close-on-exec) without
// touching the original's blocking mode, which (*net.TCPListener).File
// would only promise for recent Go releases.
func dupSocket(sc syscall.Conn) (*os.File, error) {
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var derr error
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = dupCloexec(int(fd))
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	return os.NewFile(uintptr(nfd), "socket"), nil
}

func dupCloexec(fd int) (int, error) {
	nfd, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(nfd), nil
}
