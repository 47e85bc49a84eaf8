package proxyd

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/berth-dev/berth/internal/dns"
)

// envListenFDs names the sockets a proxy process inherits: comma-separated
// names (a listener's configured address, or "dns/udp|tcp/ADDR" for a DNS
// zone's sockets), the first one descriptor 3, the next 4, and so on
// (exec.Cmd.ExtraFiles order).
const envListenFDs = "BERTH_PROXY_LISTEN_FDS"

// firstInheritedFD is the descriptor of the first inherited socket.
const firstInheritedFD = 3

// inherited holds the sockets a proxy process was started with until its
// config claims them: the proxy's listeners and the DNS zones' sockets.
type inherited struct {
	mu     sync.Mutex
	lns    map[string]net.Listener   // by configured address
	dnsUDP map[string]net.PacketConn // by zone address
	dnsTCP map[string]net.Listener   // by zone address
}

// inheritListeners takes the sockets named in the environment (and
// removes the variable). A descriptor that is not a socket of the kind
// its name says is logged and skipped: its address is bound afresh.
func inheritListeners(log *slog.Logger) *inherited {
	in := &inherited{lns: map[string]net.Listener{}, dnsUDP: map[string]net.PacketConn{}, dnsTCP: map[string]net.Listener{}}
	v, ok := os.LookupEnv(envListenFDs)
	os.Unsetenv(envListenFDs)
	if !ok || v == "" {
		return in
	}
	for i, addr := range strings.Split(v, ",") {
		fd := firstInheritedFD + i
		f := os.NewFile(uintptr(fd), "inherited "+addr)
		if err := in.add(addr, f); err != nil {
			log.Warn("an inherited socket is unusable; binding afresh", "addr", addr, "fd", fd, "err", err)
		}
		f.Close()
	}
	return in
}

// add takes a close-on-exec duplicate of f, the socket handed over under
// name (a listener's address, or dnsHandoverName); a second one for the
// same name is dropped.
func (in *inherited) add(name string, f *os.File) error {
	transport, addr, isDNS := parseDNSHandoverName(name)
	switch {
	case isDNS && transport == "udp":
		pc, err := net.FilePacketConn(f)
		if err != nil {
			return err
		}
		if _, dup := in.dnsUDP[addr]; dup {
			pc.Close()
			return nil
		}
		in.dnsUDP[addr] = pc
	case isDNS:
		ln, err := net.FileListener(f)
		if err != nil {
			return err
		}
		if _, dup := in.dnsTCP[addr]; dup {
			ln.Close()
			return nil
		}
		in.dnsTCP[addr] = ln
	default:
		ln, err := net.FileListener(f)
		if err != nil {
			return err
		}
		if _, dup := in.lns[name]; dup {
			ln.Close()
			return nil
		}
		in.lns[name] = ln
	}
	return nil
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

// listenDNS is dnsHost's listen: the inherited sockets of the zone on
// addr if there are (once), the missing ones bound afresh.
func (in *inherited) listenDNS(addr string) (dns.Sockets, error) {
	in.mu.Lock()
	socks := dns.Sockets{UDP: in.dnsUDP[addr], TCP: in.dnsTCP[addr]}
	delete(in.dnsUDP, addr)
	delete(in.dnsTCP, addr)
	in.mu.Unlock()
	var err error
	if socks.UDP == nil {
		socks.UDP, err = dns.ListenUDP(addr)
	}
	if err == nil && socks.TCP == nil {
		socks.TCP, err = dns.ListenTCP(addr)
	}
	if err != nil {
		socks.Close()
		return dns.Sockets{}, err
	}
	return socks, nil
}

// count is how many inherited sockets are still unclaimed.
func (in *inherited) count() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.lns) + len(in.dnsUDP) + len(in.dnsTCP)
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
	for addr, pc := range in.dnsUDP {
		log.Info("closing an inherited DNS socket no zone uses", "addr", addr, "transport", "udp")
		pc.Close()
		delete(in.dnsUDP, addr)
	}
	for addr, ln := range in.dnsTCP {
		log.Info("closing an inherited DNS socket no zone uses", "addr", addr, "transport", "tcp")
		ln.Close()
		delete(in.dnsTCP, addr)
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
