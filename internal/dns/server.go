// Package dns is the resolver of berth's stack networks: one Server per
// network, answering the service names of its stack and forwarding other
// names to the host's resolvers. It runs in the `berth proxy` process
// (internal/proxy/proxyd), which outlives the daemon; the engine computes
// what each zone holds and pushes it there (proxy.Config.DNS).
package dns

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mdns "github.com/miekg/dns"
)

// Server is the per-network resolver containers use (the daemon writes
// "nameserver <gateway>" into each container's /etc/resolv.conf). It runs
// in the host's network namespace, bound to the network's gateway address,
// inside the `berth proxy` process (internal/proxy/proxyd), which outlives the
// daemon. Only its own bridge reaches it (INPUT rules the engine adds,
// internal/engine/network/dnsguard.go). It answers:
//   - A/AAAA for bare service names ("web") and "<name>.<domain>" from the
//     lookup function, with TTL 0 so replica changes are seen at once;
//   - NXDOMAIN for unknown names in the domain;
//   - everything else by forwarding to the upstream resolvers, or SERVFAIL
//     if there are none.
type Server struct {
	addr     string
	domain   atomic.Pointer[string] // lower case, no trailing dot
	lookup   func(name string) []net.IP
	upstream []string

	mu      sync.Mutex
	socks   Sockets
	servers []*mdns.Server
	done    chan struct{} // closed when every serve loop has returned
}

// upstreamTimeout bounds one forwarded query; resolver clients typically
// retry after 5 s, so answering SERVFAIL sooner lets them move on.
const upstreamTimeout = 2 * time.Second

// NewServer validates the configuration; Start binds the sockets. addr is the
// gateway "IP:port" (port 53 for containers), domain the network name that
// qualified names end in, lookup maps a service name (lower case, domain
// stripped) to its current addresses, upstream lists "IP" or "IP:port"
// resolvers for other names.
func NewServer(addr, domain string, lookup func(name string) []net.IP, upstream []string) (*Server, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("DNS listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil {
		return nil, fmt.Errorf("DNS listen address %q: %q is not an IP address", addr, host)
	}
	if _, err := net.LookupPort("udp", port); err != nil {
		return nil, fmt.Errorf("DNS listen address %q: bad port: %w", addr, err)
	}
	domain, err = NormalizeDomain(domain)
	if err != nil {
		return nil, err
	}
	if lookup == nil {
		return nil, errors.New("DNS lookup function is nil")
	}
	ups := make([]string, 0, len(upstream))
	for _, u := range upstream {
		hp, err := normalizeUpstream(u)
		if err != nil {
			return nil, err
		}
		ups = append(ups, hp)
	}
	s := &Server{addr: addr, lookup: lookup, upstream: ups}
	s.domain.Store(&domain)
	return s, nil
}

// NormalizeDomain checks a zone's domain and returns it in the form the
// server compares names with: lower case, no trailing dot.
func NormalizeDomain(domain string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	if _, ok := mdns.IsDomainName(d); !ok || d == "" {
		return "", fmt.Errorf("DNS domain %q is not a valid domain name", domain)
	}
	return d, nil
}

// Domain is the zone's domain, normalised.
func (s *Server) Domain() string { return *s.domain.Load() }

// SetDomain changes the zone's domain while the server runs on the same
// sockets (a network of another stack on the same gateway address).
func (s *Server) SetDomain(domain string) error {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return err
	}
	s.domain.Store(&d)
	return nil
}

func normalizeUpstream(u string) (string, error) {
	if ip := net.ParseIP(u); ip != nil {
		return net.JoinHostPort(ip.String(), "53"), nil
	}
	host, port, err := net.SplitHostPort(u)
	if err != nil || net.ParseIP(host) == nil || port == "" {
		return "", fmt.Errorf("upstream DNS server %q must be an IP address or IP:port", u)
	}
	return u, nil
}

// Start binds the address (Listen) and serves in the background.
func (s *Server) Start() error {
	socks, err := Listen(s.addr)
	if err != nil {
		return err
	}
	if err := s.Serve(socks); err != nil {
		socks.Close()
		return err
	}
	return nil
}

// Serve answers on socks — bound by Listen, or inherited from another
// process — in the background. The server owns them from now on: Stop
// closes them.
func (s *Server) Serve(socks Sockets) error {
	if socks.UDP == nil || socks.TCP == nil {
		return fmt.Errorf("DNS server on %s: want both a UDP and a TCP socket", s.addr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.servers != nil {
		return fmt.Errorf("DNS server on %s already started", s.addr)
	}
	udp := &mdns.Server{PacketConn: socks.UDP, Handler: s, UDPSize: mdns.DefaultMsgSize}
	tcp := &mdns.Server{Listener: drainingListener{socks.TCP}, Handler: s}
	s.socks = socks
	s.servers = []*mdns.Server{udp, tcp}
	s.done = make(chan struct{})

	var started, served sync.WaitGroup
	for _, srv := range s.servers {
		started.Add(1)
		served.Add(1)
		markStarted := sync.OnceFunc(started.Done)
		srv.NotifyStartedFunc = markStarted
		go func() {
			defer served.Done()
			// If serving fails before it starts, still release Serve.
			defer markStarted()
			_ = srv.ActivateAndServe()
		}()
	}
	go func() { served.Wait(); close(s.done) }()
	// Shutdown refuses a server that has not started yet, so wait for both.
	started.Wait()
	return nil
}

// Files returns duplicates of the running server's UDP and TCP sockets,
// for handing to another process (which serves them with Serve): queries
// keep queueing on them while any process holds them. The caller closes
// the files.
func (s *Server) Files() (udp, tcp *os.File, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.servers == nil {
		return nil, nil, fmt.Errorf("DNS server on %s is not running", s.addr)
	}
	return s.socks.files()
}

// Stop closes the sockets and waits for the serve loops to end.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.servers == nil {
		return nil
	}
	var errs []error
	for _, srv := range s.servers {
		if err := srv.Shutdown(); err != nil {
			errs = append(errs, err)
		}
	}
	<-s.done
	s.servers, s.socks = nil, Sockets{}
	return errors.Join(errs...)
}

// ServeDNS implements mdns.Handler.
func (s *Server) ServeDNS(w mdns.ResponseWriter, r *mdns.Msg) {
	if r.Opcode != mdns.OpcodeQuery || len(r.Question) != 1 {
		m := new(mdns.Msg).SetRcode(r, mdns.RcodeNotImplemented)
		if len(r.Question) != 1 {
			m.Rcode = mdns.RcodeFormatError
		}
		_ = w.WriteMsg(m)
		return
	}
	name := strings.ToLower(strings.TrimSuffix(r.Question[0].Name, "."))
	domain := s.Domain()
	switch {
	case name == domain:
		s.reply(w, r, mdns.RcodeSuccess, nil) // the zone exists, holds no address
	case name != "" && !strings.Contains(name, "."):
		// Bare names: services first; other single labels (search-list
		// names of the host) go upstream like Docker does.
		ips := s.lookup(name)
		if len(ips) == 0 && len(s.upstream) > 0 {
			s.forward(w, r)
			return
		}
		s.answer(w, r, ips)
	case strings.HasSuffix(name, "."+domain):
		s.answer(w, r, s.lookup(strings.TrimSuffix(name, "."+domain)))
	default:
		s.forward(w, r)
	}
}

// answer replies authoritatively with the addresses of the question's type;
// no addresses at all means the name does not exist.
func (s *Server) answer(w mdns.ResponseWriter, r *mdns.Msg, ips []net.IP) {
	if len(ips) == 0 {
		s.reply(w, r, mdns.RcodeNameError, nil)
		return
	}
	q := r.Question[0]
	// Shuffled so clients that take the first address spread over replicas.
	ips = append([]net.IP(nil), ips...)
	rand.Shuffle(len(ips), func(i, j int) { ips[i], ips[j] = ips[j], ips[i] })
	var rrs []mdns.RR
	for _, ip := range ips {
		hdr := mdns.RR_Header{Name: q.Name, Class: mdns.ClassINET, Ttl: 0}
		if v4 := ip.To4(); v4 != nil {
			if q.Qtype == mdns.TypeA || q.Qtype == mdns.TypeANY {
				hdr.Rrtype = mdns.TypeA
				rrs = append(rrs, &mdns.A{Hdr: hdr, A: v4})
			}
		} else if q.Qtype == mdns.TypeAAAA || q.Qtype == mdns.TypeANY {
			hdr.Rrtype = mdns.TypeAAAA
			rrs = append(rrs, &mdns.AAAA{Hdr: hdr, AAAA: ip})
		}
	}
	// Other types of an existing name: NOERROR with no records (NODATA).
	s.reply(w, r, mdns.RcodeSuccess, rrs)
}

func (s *Server) reply(w mdns.ResponseWriter, r *mdns.Msg, rcode int, rrs []mdns.RR) {
	m := new(mdns.Msg).SetRcode(r, rcode)
	m.Authoritative = true
	m.RecursionAvailable = len(s.upstream) > 0
	m.Answer = rrs
	max := mdns.MaxMsgSize
	if _, isUDP := w.LocalAddr().(*net.UDPAddr); isUDP {
		max = mdns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			max = int(opt.UDPSize())
		}
	}
	m.Truncate(max) // sets TC so the client retries over TCP
	_ = w.WriteMsg(m)
}

// forward relays r to the upstream resolvers in order over the transport
// the client used, returning the first answer.
func (s *Server) forward(w mdns.ResponseWriter, r *mdns.Msg) {
	network := "udp"
	if _, isTCP := w.LocalAddr().(*net.TCPAddr); isTCP {
		network = "tcp"
	}
	for _, up := range s.upstream {
		c := &mdns.Client{Net: network, Timeout: upstreamTimeout}
		resp, _, err := c.Exchange(r, up)
		if err != nil || resp == nil {
			continue
		}
		_ = w.WriteMsg(resp)
		return
	}
	m := new(mdns.Msg).SetRcode(r, mdns.RcodeServerFailure)
	m.RecursionAvailable = len(s.upstream) > 0
	_ = w.WriteMsg(m)
}

// HostUpstreams reads the nameservers of a resolv.conf (normally the host's
// /etc/resolv.conf) as "IP:53" entries. Loopback resolvers such as
// systemd-resolved's 127.0.0.53 are kept: Server forwards from the host's
// network namespace, where they are reachable (unlike from a container).
// A missing file yields no upstreams.
func HostUpstreams(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		host, _, _ := strings.Cut(fields[1], "%") // drop an IPv6 zone
		ip := net.ParseIP(host)
		if ip == nil || ip.IsUnspecified() {
			continue
		}
		out = append(out, net.JoinHostPort(ip.String(), "53"))
	}
	return out, sc.Err()
}
