package proxy

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Validate checks a Config without touching the system: modes, balancing
// policies, addresses, backend IDs and host routing. Errors name the
// listener, route and field.
func (c Config) Validate() error {
	seenAddr := map[string]bool{}
	for i, l := range c.Listeners {
		where := fmt.Sprintf("listeners[%d] (%s)", i, l.Addr)
		if err := validateHostPort(l.Addr, true); err != nil {
			return fmt.Errorf("%s: addr: %w", where, err)
		}
		if seenAddr[l.Addr] {
			return fmt.Errorf("%s: addr %q is listed twice", where, l.Addr)
		}
		seenAddr[l.Addr] = true
		if err := l.validate(); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	return c.validateACME()
}

func (l Listener) validate() error {
	switch l.Mode {
	case ModeHTTP:
	case ModeTCP:
		if len(l.Routes) != 1 {
			return fmt.Errorf("mode tcp needs exactly 1 route, got %d", len(l.Routes))
		}
		if l.TLS != nil {
			return errors.New("tls: only mode http terminates TLS")
		}
		if len(l.Routes[0].Hosts) > 0 {
			return errors.New("routes[0].hosts: mode tcp cannot route by host")
		}
		if bp := l.Routes[0].BackendProtocol; bp != "" {
			return fmt.Errorf("routes[0].backendProtocol %q: only mode http chooses a backend protocol", bp)
		}
	default:
		return fmt.Errorf("mode %q: want %q or %q", l.Mode, ModeHTTP, ModeTCP)
	}
	if len(l.Routes) == 0 {
		return errors.New("routes: at least one route is needed")
	}
	if t := l.TLS; t != nil {
		switch {
		case t.Auto && (t.CertFile != "" || t.KeyFile != ""):
			return errors.New("tls: auto and certFile/keyFile exclude each other")
		case !t.Auto && (t.CertFile == "" || t.KeyFile == ""):
			return errors.New("tls: certFile and keyFile are both required")
		case t.HSTS < 0:
			return fmt.Errorf("tls: hsts %s is negative", time.Duration(t.HSTS))
		}
	}
	hostOwner := map[string]string{} // host -> service
	defaultRoute := ""
	for j, r := range l.Routes {
		where := fmt.Sprintf("routes[%d] (%s)", j, r.Service)
		if r.Service == "" {
			return fmt.Errorf("routes[%d]: service is empty", j)
		}
		if err := r.validate(); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if r.RedirectHTTPS != 0 {
			if l.TLS != nil {
				return fmt.Errorf("%s: redirectHTTPS: only a plain HTTP listener redirects to HTTPS", where)
			}
			if r.RedirectHTTPS < 1 || r.RedirectHTTPS > 65535 {
				return fmt.Errorf("%s: redirectHTTPS %d: want a port 1-65535", where, r.RedirectHTTPS)
			}
		}
		if l.TLS != nil && l.TLS.Auto {
			if len(r.Hosts) == 0 {
				return fmt.Errorf("%s: tls auto: the route has no hosts to get a certificate for", where)
			}
			for _, h := range r.Hosts {
				if err := ValidateACMEHost(normalizeHost(h)); err != nil {
					return fmt.Errorf("%s: tls auto: %w", where, err)
				}
			}
		}
		if len(r.Hosts) == 0 {
			if defaultRoute != "" {
				return fmt.Errorf("%s: services %s and %s both have no hosts; only one default route per listener", where, defaultRoute, r.Service)
			}
			defaultRoute = r.Service
		}
		for _, h := range r.Hosts {
			key := normalizeHost(h)
			if key == "" {
				return fmt.Errorf("%s: hosts: empty host", where)
			}
			if other, ok := hostOwner[key]; ok {
				return fmt.Errorf("%s: host %q is routed to both %s and %s", where, h, other, r.Service)
			}
			hostOwner[key] = r.Service
		}
	}
	return nil
}

func (r Route) validate() error {
	switch r.Balance {
	case "", RoundRobin, LeastConn:
	default:
		return fmt.Errorf("balance %q: want %q or %q", r.Balance, RoundRobin, LeastConn)
	}
	switch r.BackendProtocol {
	case "", BackendHTTP1, BackendH2C:
	default:
		return fmt.Errorf("backendProtocol %q: want %q or %q", r.BackendProtocol, BackendHTTP1, BackendH2C)
	}
	if r.DrainTimeout < 0 {
		return fmt.Errorf("drainTimeout %s is negative", time.Duration(r.DrainTimeout))
	}
	for _, f := range []struct {
		name string
		d    Duration
	}{{"timeouts.readBody", r.Timeouts.ReadBody}, {"timeouts.responseHeader", r.Timeouts.ResponseHeader}, {"timeouts.write", r.Timeouts.Write}} {
		if f.d < 0 {
			return fmt.Errorf("%s %s is negative", f.name, time.Duration(f.d))
		}
	}
	ids := map[string]bool{}
	for k, b := range r.Backends {
		if b.ID == "" {
			return fmt.Errorf("backends[%d]: id is empty", k)
		}
		if ids[b.ID] {
			return fmt.Errorf("backends[%d]: id %q is listed twice", k, b.ID)
		}
		ids[b.ID] = true
		if err := validateHostPort(b.Addr, false); err != nil {
			return fmt.Errorf("backends[%d] (%s): addr: %w", k, b.ID, err)
		}
	}
	return nil
}

// validateHostPort checks "host:port". A listener may leave the host empty
// (all interfaces) and use port 0 (any free port); a backend may not.
func validateHostPort(addr string, listen bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: %w", addr, err)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return fmt.Errorf("%q: port %q is not a number 0-65535", addr, port)
	}
	if !listen {
		if host == "" {
			return fmt.Errorf("%q: host is empty", addr)
		}
		if n == 0 {
			return fmt.Errorf("%q: port 0", addr)
		}
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q: bad host %q", addr, host)
	}
	return nil
}

// normalizeHost turns a Host header or configured host into the routing key:
// lower case, without port. It does not allocate for the common already
// lower-case host.
func normalizeHost(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		// "[::1]:80" or "example.com:80"; but not a bare IPv6 literal "::1".
		if strings.IndexByte(h, ':') == i || strings.HasPrefix(h, "[") {
			h = h[:i]
		}
	}
	h = strings.TrimSuffix(h, ".")
	return strings.ToLower(h)
}
