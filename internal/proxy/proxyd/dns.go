package proxyd

import (
	"fmt"
	"log/slog"
	"maps"
	"net"
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

	mu    sync.Mutex
	zones map[string]*hostedZone // by listen address
}

type hostedZone struct {
	domain string
	srv    *dns.Server
	names  atomic.Pointer[map[string][]net.IP]
}

func newDNSHost(upstream []string, log *slog.Logger) *dnsHost {
	return &dnsHost{upstream: upstream, log: log, zones: map[string]*hostedZone{}}
}

func (z *hostedZone) lookup(name string) []net.IP {
	if m := z.names.Load(); m != nil {
		return (*m)[name]
	}
	return nil
}

// apply makes zones the hosted ones: servers for new zones start, the names
// of running ones are swapped in at once, servers of zones no longer listed
// (or listed with another domain) stop. A zone whose server cannot start
// fails the call; the servers this call started are stopped again.
func (h *dnsHost) apply(zones []proxy.DNSZone) error {
	parsed := make(map[string]map[string][]net.IP, len(zones))
	for i, z := range zones {
		if _, dup := parsed[z.Addr]; dup {
			return fmt.Errorf("dns[%d]: address %s is listed twice", i, z.Addr)
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
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	want := map[string]string{} // addr → domain
	for _, z := range zones {
		want[z.Addr] = strings.ToLower(strings.TrimSuffix(z.Domain, "."))
	}
	// Servers for new zones are made (which validates them) before
	// anything changes: a bad zone leaves everything as it was.
	fresh := map[string]*hostedZone{}
	for _, z := range zones {
		if hz, ok := h.zones[z.Addr]; ok && hz.domain == want[z.Addr] {
			continue
		}
		hz := &hostedZone{domain: want[z.Addr]}
		srv, err := dns.NewServer(z.Addr, z.Domain, hz.lookup, h.upstream)
		if err != nil {
			return err
		}
		hz.srv = srv
		fresh[z.Addr] = hz
	}
	for addr, hz := range h.zones {
		if d, ok := want[addr]; !ok || d != hz.domain {
			if err := hz.srv.Stop(); err != nil {
				h.log.Warn("stopping a DNS server", "addr", addr, "err", err)
			}
			delete(h.zones, addr)
		}
	}
	var started []string
	for _, addr := range slices.Sorted(maps.Keys(fresh)) {
		hz := fresh[addr]
		hz.names.Store(ptr(parsed[addr]))
		if err := hz.srv.Start(); err != nil {
			for _, a := range started {
				_ = h.zones[a].srv.Stop()
				delete(h.zones, a)
			}
			return fmt.Errorf("DNS for %s on %s: %w", hz.domain, addr, err)
		}
		h.zones[addr] = hz
		started = append(started, addr)
	}
	for addr, names := range parsed {
		h.zones[addr].names.Store(ptr(names))
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
		z := proxy.DNSZone{Addr: addr, Domain: hz.domain}
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

// close stops every server.
func (h *dnsHost) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for addr, hz := range h.zones {
		_ = hz.srv.Stop()
		delete(h.zones, addr)
	}
}
