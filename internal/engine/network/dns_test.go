package network

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeUpstream is a real DNS server on 127.0.0.1 that answers every A query
// with 192.0.2.99, standing in for the host's resolver.
func fakeUpstream(t *testing.T) string {
	t.Helper()
	// The UDP port the kernel picks may already be taken on TCP by another
	// test binary running in parallel, so try a few until both are free.
	var pc net.PacketConn
	var ln net.Listener
	for attempt := 0; ; attempt++ {
		var err error
		pc, err = net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err = net.Listen("tcp4", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if attempt == 20 {
			t.Fatalf("no port free on both udp and tcp: %v", err)
		}
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg).SetReply(r)
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP("192.0.2.99")})
		w.WriteMsg(m)
	})
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return pc.LocalAddr().String()
}

func startDNS(t *testing.T, addr string, upstream []string) *DNSServer {
	t.Helper()
	services := map[string][]net.IP{
		"web": {net.ParseIP("10.89.7.2"), net.ParseIP("10.89.7.3")},
		"db":  {net.ParseIP("10.89.7.4")},
	}
	s, err := NewDNS(addr, "mystack", func(name string) []net.IP { return services[name] }, upstream)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

func query(t *testing.T, netw, server, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: netw, Timeout: 5 * time.Second}
	m := new(dns.Msg).SetQuestion(dns.Fqdn(name), qtype)
	resp, _, err := c.Exchange(m, server)
	if err != nil {
		t.Fatalf("query %s %s over %s: %v", name, dns.TypeToString[qtype], netw, err)
	}
	return resp
}

func answerIPs(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.AAAA:
			out = append(out, v.AAAA.String())
		}
	}
	return out
}

func TestDNSAnswers(t *testing.T) {
	up := fakeUpstream(t)
	// Port 0 is not allowed here: pick a free one for both transports.
	addr := freeUDPTCPAddr(t)
	startDNS(t, addr, []string{up})

	for _, netw := range []string{"udp", "tcp"} {
		r := query(t, netw, addr, "web", dns.TypeA)
		ips := answerIPs(r)
		if r.Rcode != dns.RcodeSuccess || len(ips) != 2 || !strings.Contains(strings.Join(ips, ","), "10.89.7.2") {
			t.Errorf("%s web: rcode %d ips %v", netw, r.Rcode, ips)
		}
		if r.Answer[0].Header().Ttl != 0 || !r.Authoritative {
			t.Errorf("%s web: ttl %d aa %v", netw, r.Answer[0].Header().Ttl, r.Authoritative)
		}
		if r := query(t, netw, addr, "DB.MyStack", dns.TypeA); answerIPs(r) == nil || answerIPs(r)[0] != "10.89.7.4" {
			t.Errorf("%s db.mystack: %v", netw, r)
		}
		if r := query(t, netw, addr, "nope.mystack", dns.TypeA); r.Rcode != dns.RcodeNameError {
			t.Errorf("%s nope.mystack: rcode %s", netw, dns.RcodeToString[r.Rcode])
		}
		if r := query(t, netw, addr, "db", dns.TypeAAAA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
			t.Errorf("%s db AAAA: want NODATA, got %v", netw, r)
		}
		if r := query(t, netw, addr, "example.org", dns.TypeA); r.Rcode != dns.RcodeSuccess || answerIPs(r) == nil || answerIPs(r)[0] != "192.0.2.99" {
			t.Errorf("%s example.org not forwarded: %v", netw, r)
		}
	}
}

func TestDNSWithoutUpstream(t *testing.T) {
	addr := freeUDPTCPAddr(t)
	startDNS(t, addr, nil)
	if r := query(t, "udp", addr, "example.org", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("example.org: rcode %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
	if r := query(t, "udp", addr, "unknown", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("unknown bare name: rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
	if r := query(t, "udp", addr, "web", dns.TypeA); len(answerIPs(r)) != 2 {
		t.Errorf("web: %v", r)
	}
}

func TestNewDNSValidation(t *testing.T) {
	lookup := func(string) []net.IP { return nil }
	for _, tc := range []struct {
		addr, domain string
		lookup       func(string) []net.IP
		up           []string
		want         string
	}{
		{"10.89.0.1", "s", lookup, nil, "missing port"},
		{"host:53", "s", lookup, nil, "not an IP address"},
		{"10.89.0.1:53", "", lookup, nil, "not a valid domain"},
		{"10.89.0.1:53", "s", nil, nil, "lookup function is nil"},
		{"10.89.0.1:53", "s", lookup, []string{"dns.google"}, `upstream DNS server "dns.google"`},
	} {
		if _, err := NewDNS(tc.addr, tc.domain, tc.lookup, tc.up); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewDNS(%q, %q) = %v, want %q", tc.addr, tc.domain, err, tc.want)
		}
	}
}

func TestHostUpstreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(path, []byte("# comment\nsearch example.com\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\noptions edns0\n"), 0o644)
	got, err := HostUpstreams(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "127.0.0.53:53,192.0.2.53:53,[fe80::1]:53" {
		t.Fatalf("upstreams = %v", got)
	}
	if got, err := HostUpstreams(filepath.Join(t.TempDir(), "missing")); err != nil || got != nil {
		t.Fatalf("missing file: %v %v", got, err)
	}
}

// TestDNSFromContainer queries the server the way a container does: from
// inside a network namespace attached to the network, at gateway:53.
func TestDNSFromContainer(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	name := uniqueName(t, "dns")
	n, err := m.EnsureNetwork(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.RemoveNetwork(name) })
	// Started before the bridge exists: IP_FREEBIND makes that work.
	gw := net.JoinHostPort(n.Gateway.String(), "53")
	s, err := NewDNS(gw, name, func(svc string) []net.IP {
		if svc == "web" {
			return []net.IP{net.ParseIP("10.89.200.5")}
		}
		return nil
	}, []string{fakeUpstream(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })

	id := name + "-c"
	ns, err := m.CreateNetNS(id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.DeleteNetNS(id) })
	if _, err := m.Attach(ctx, name, id, ns, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Detach(ctx, name, id, ns, nil) })

	ask := func(qname string) *dns.Msg {
		var resp *dns.Msg
		eventually(t, "query "+qname+" from the container", func() error {
			return inNetNS(ns, func() error {
				c := &dns.Client{Net: "udp", Timeout: time.Second}
				var err error
				resp, _, err = c.Exchange(new(dns.Msg).SetQuestion(dns.Fqdn(qname), dns.TypeA), gw)
				return err
			})
		})
		return resp
	}
	if r := ask("web"); len(answerIPs(r)) != 1 || answerIPs(r)[0] != "10.89.200.5" {
		t.Errorf("web: %v", r)
	}
	if r := ask("web." + name); len(answerIPs(r)) != 1 {
		t.Errorf("web.%s: %v", name, r)
	}
	if r := ask("missing." + name); r.Rcode != dns.RcodeNameError {
		t.Errorf("missing.%s: rcode %s", name, dns.RcodeToString[r.Rcode])
	}
	if r := ask("example.org"); len(answerIPs(r)) != 1 || answerIPs(r)[0] != "192.0.2.99" {
		t.Errorf("example.org: %v", r)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
}

// freeUDPTCPAddr finds a 127.0.0.1 port free for both UDP and TCP.
func freeUDPTCPAddr(t *testing.T) string {
	t.Helper()
	for i := 0; i < 20; i++ {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := pc.LocalAddr().String()
		l, err := net.Listen("tcp4", addr)
		pc.Close()
		if err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatal("no free port")
	return ""
}
