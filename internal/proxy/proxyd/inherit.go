package proxyd

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
)

// envListenFDs names the listening sockets a proxy process inherits:
// comma-separated configured addresses, the first one descriptor 3, the
// next 4, and so on (exec.Cmd.ExtraFiles order).
const envListenFDs = "BERTH_PROXY_LISTEN_FDS"

// firstInheritedFD is the descriptor of the first inherited socket.
const firstInheritedFD = 3

// inherited holds the sockets a proxy process was started with until its
// config claims them.
type inherited struct {
	mu  sync.Mutex
	lns map[string]net.Listener
}

// inheritListeners takes the sockets named in the environment (and
// removes the variable). A descriptor that is not a listening socket is
// logged and skipped: its address is bound afresh.
func inheritListeners(log *slog.Logger) *inherited {
	in := &inherited{lns: map[string]net.Listener{}}
	v, ok := os.LookupEnv(envListenFDs)
	os.Unsetenv(envListenFDs)
	if !ok || v == "" {
		return in
	}
	for i, addr := range strings.Split(v, ",") {
		fd := firstInheritedFD + i
		f := os.NewFile(uintptr(fd), "inherited "+addr)
		ln, err := net.FileListener(f) // a close-on-exec duplicate
		f.Close()
		if err != nil {
			log.Warn("an inherited listening socket is unusable; binding afresh", "addr", addr, "fd", fd, "err", err)
			continue
		}
		if _, dup := in.lns[addr]; dup {
			ln.Close()
			continue
		}
		in.lns[addr] = ln
	}
	return in
}

// listen is proxy.Options.Listen: an inherited socket for addr if there
// is one (once), else a new one.
func (in *inherited) listen(addr string) (net.Listener, error) {
	in.mu.Lock()
	ln, ok := in.lns[addr]
	delete(in.lns, addr)
	in.mu.Unlock()
	if ok {
		return ln, nil
	}
	return net.Listen("tcp", addr)
}

// count is how many inherited sockets are still unclaimed.
func (in *inherited) count() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.lns)
}

// closeRest closes the sockets no config claimed: their ports are no
// longer served.
func (in *inherited) closeRest(log *slog.Logger) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for addr, ln := range in.lns {
		log.Info("closing an inherited socket the config does not use", "addr", addr)
		ln.Close()
		delete(in.lns, addr)
	}
}

// listenFDsEnv is the environment entry naming addrs for a child started
// with their sockets as ExtraFiles; "" for none.
func listenFDsEnv(addrs []string) (string, error) {
	for _, a := range addrs {
		if a == "" || strings.ContainsAny(a, ",\x00") {
			return "", fmt.Errorf("proxy listener address %q cannot be handed over", a)
		}
	}
	if len(addrs) == 0 {
		return "", nil
	}
	return envListenFDs + "=" + strings.Join(addrs, ","), nil
}
