package proxyd

import (
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/berth-dev/berth/internal/dns"
	"github.com/berth-dev/berth/internal/proxy"
)

// dnsHost runs the stack networks' DNS servers (proxy.Config.DNS) in the
// proxy process, which outlives the daemon: containers keep resolving
// service names while the daemon restarts or is down. The daemon pushes
// the names with every routing change.
type dnsHost struct {
	upstream []string // the host's resolvers, for names outside the zones
	log      *slog.Logger
	// listen gives a new zone's sockets: inherited ones (see Holder) or
	// freshly bound.
	listen func(addr string) (dns.Sockets, error)

	mu    sync.Mutex
	zones map[string]*hostedZone // by listen address
}

type hostedZone struct {
	srv   *dns.Server
	names atomic.Pointer[map[string][]net.IP]
}

// newDNSHost hosts zones on sockets from listen (nil: dns.Listen).
func newDNSHost(upstream []string, log *slog.Logger, listen func(addr string) (dns.Sockets, error)) *dnsHost {
	if listen == nil {
		listen = dns.Listen
	}
	return &dnsHost{upstream: upstream, log: log, listen: listen, zones: map[string]*hostedZone{}}
}

func (z *hostedZone) lookup(name string) []net.IP {
	if m := z.names.Load(); m != nil {
		return (*m)[name]
	}
	return nil
}

// apply makes zones the hosted ones: servers for new zones start, the names
// of running ones are swapped in at once (and their domain, if it changed:
// the sockets stay, so a holder's duplicates never make a rebind fail),
// servers of zones no longer listed stop. A zone whose server cannot start
// fails the call; the servers this call started are stopped again.
func (h *dnsHost) apply(zones []proxy.DNSZone) error {
	parsed := make(map[string]map[string][]net.IP, len(zones))
	want := make(map[string]string, len(zones)) // addr → normalised domain
	for i, z := range zones {
		if _, dup := parsed[z.Addr]; dup {
			return fmt.Errorf("dns[%d]: address %s is listed twice", i, z.Addr)
		}
		domain, err := dns.NormalizeDomain(z.Domain)
		if err != nil {
			return fmt.Errorf("dns[%d] (%s): %w", i, z.Addr, err)
		}
		names := make(map[string][]net.IP, len(z.Names))
		for name, addrs := range z.Names {
			if name == "" || name != strings.ToLower(name) {
				return fmt.Errorf("dns[%d] (%s): name %q: want a non-empty lower-case name", i, z.Domain, name)
			}
			for _, a := range addrs {
				ip := net.ParseIP(a)
				if ip == nil {
					return fmt.Errorf("dns[%d] (%s): name %s: %q is not an IP address", i, z.Domain, name, a)
				}
				names[name] = append(names[name], ip)
			}
		}
		parsed[z.Addr] = names
		want[z.Addr] = domain
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	// Servers for new zones are made (which validates them) before
	// anything changes: a bad zone leaves everything as it was.
	fresh := map[string]*hostedZone{}
	for _, z := range zones {
		if _, ok := h.zones[z.Addr]; ok {
			continue
		}
		hz := &hostedZone{}
		srv, err := dns.NewServer(z.Addr, z.Domain, hz.lookup, h.upstream)
		if err != nil {
			return err
		}
		hz.srv = srv
		fresh[z.Addr] = hz
	}
	var started []string
	for _, addr := range slices.Sorted(maps.Keys(fresh)) {
		hz := fresh[addr]
		hz.names.Store(ptr(parsed[addr]))
		err := h.start(hz.srv, addr)
		if err != nil {
			for _, a := range started {
				_ = fresh[a].srv.Stop()
			}
			return fmt.Errorf("DNS for %s on %s: %w", want[addr], addr, err)
		}
		started = append(started, addr)
	}
	for addr, hz := range h.zones {
		if _, ok := want[addr]; !ok {
			if err := hz.srv.Stop(); err != nil {
				h.log.Warn("stopping a DNS server", "addr", addr, "err", err)
			}
			delete(h.zones, addr)
		}
	}
	maps.Copy(h.zones, fresh)
	for addr, names := range parsed {
		hz := h.zones[addr]
		if hz.srv.Domain() != want[addr] {
			_ = hz.srv.SetDomain(want[addr]) // validated above
		}
		hz.names.Store(ptr(names))
	}
	return nil
}

// start serves a new zone on the sockets h.listen gives.
func (h *dnsHost) start(srv *dns.Server, addr string) error {
	socks, err := h.listen(addr)
	if err != nil {
		return err
	}
	if err := srv.Serve(socks); err != nil {
		socks.Close()
		return err
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// current is what apply was last given successfully, for GET /config.
func (h *dnsHost) current() []proxy.DNSZone {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]proxy.DNSZone, 0, len(h.zones))
	for _, addr := range slices.Sorted(maps.Keys(h.zones)) {
		hz := h.zones[addr]
		z := proxy.DNSZone{Addr: addr, Domain: hz.srv.Domain()}
		if m := hz.names.Load(); m != nil && len(*m) > 0 {
			z.Names = make(map[string][]string, len(*m))
			for name, ips := range *m {
				for _, ip := range ips {
					z.Names[name] = append(z.Names[name], ip.String())
				}
			}
		}
		out = append(out, z)
	}
	return out
}

// files returns duplicates of every zone's sockets for GET /listeners,
// named by dnsHandoverName. The caller closes the files.
func (h *dnsHost) files() (names []string, files []*os.File, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, addr := range slices.Sorted(maps.Keys(h.zones)) {
		udp, tcp, ferr := h.zones[addr].srv.Files()
		if ferr != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, nil, ferr
		}
		names = append(names, dnsHandoverName("tcp", addr), dnsHandoverName("udp", addr))
		files = append(files, tcp, udp)
	}
	return names, files, nil
}

// The handed-over sockets of a zone are named "dns/udp/ADDR" and
// "dns/tcp/ADDR", apart from the proxy's listeners (plain "host:port").
const dnsHandoverPrefix = "dns/"

func dnsHandoverName(transport, addr string) string {
	return dnsHandoverPrefix + transport + "/" + addr
}

// parseDNSHandoverName splits a name made by dnsHandoverName; ok is false
// for other names.
func parseDNSHandoverName(name string) (transport, addr string, ok bool) {
	rest, ok := strings.CutPrefix(name, dnsHandoverPrefix)
	if !ok {
		return "", "", false
	}
	transport, addr, ok = strings.Cut(rest, "/")
	if !ok || (transport != "udp" && transport != "tcp") || addr == "" {
		return "", "", false
	}
	return transport, addr, true
}

// close stops every server.
func (h *dnsHost) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for addr, hz := range h.zones {
		_ = hz.srv.Stop()
		delete(h.zones, addr)
	}
}
