package dns

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/berth-dev/berth/internal/dns/dnstest"
)

func startDNS(t *testing.T, addr string, upstream []string) *Server {
	t.Helper()
	services := map[string][]net.IP{
		"web": {net.ParseIP("10.89.7.2"), net.ParseIP("10.89.7.3")},
		"db":  {net.ParseIP("10.89.7.4")},
	}
	s, err := NewServer(addr, "mystack", func(name string) []net.IP { return services[name] }, upstream)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

func query(t *testing.T, netw, server, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	c := &mdns.Client{Net: netw, Timeout: 5 * time.Second}
	m := new(mdns.Msg).SetQuestion(mdns.Fqdn(name), qtype)
	resp, _, err := c.Exchange(m, server)
	if err != nil {
		t.Fatalf("query %s %s over %s: %v", name, mdns.TypeToString[qtype], netw, err)
	}
	return resp
}

func TestDNSAnswers(t *testing.T) {
	up := dnstest.FakeUpstream(t)
	// Port 0 is not allowed here: pick a free one for both transports.
	addr := dnstest.FreeAddr(t)
	startDNS(t, addr, []string{up})

	for _, netw := range []string{"udp", "tcp"} {
		r := query(t, netw, addr, "web", mdns.TypeA)
		ips := dnstest.AnswerIPs(r)
		if r.Rcode != mdns.RcodeSuccess || len(ips) != 2 || !strings.Contains(strings.Join(ips, ","), "10.89.7.2") {
			t.Errorf("%s web: rcode %d ips %v", netw, r.Rcode, ips)
		}
		if r.Answer[0].Header().Ttl != 0 || !r.Authoritative {
			t.Errorf("%s web: ttl %d aa %v", netw, r.Answer[0].Header().Ttl, r.Authoritative)
		}
		if r := query(t, netw, addr, "DB.MyStack", mdns.TypeA); dnstest.AnswerIPs(r) == nil || dnstest.AnswerIPs(r)[0] != "10.89.7.4" {
			t.Errorf("%s db.mystack: %v", netw, r)
		}
		if r := query(t, netw, addr, "nope.mystack", mdns.TypeA); r.Rcode != mdns.RcodeNameError {
			t.Errorf("%s nope.mystack: rcode %s", netw, mdns.RcodeToString[r.Rcode])
		}
		if r := query(t, netw, addr, "db", mdns.TypeAAAA); r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 0 {
			t.Errorf("%s db AAAA: want NODATA, got %v", netw, r)
		}
		if r := query(t, netw, addr, "example.org", mdns.TypeA); r.Rcode != mdns.RcodeSuccess || dnstest.AnswerIPs(r) == nil || dnstest.AnswerIPs(r)[0] != "192.0.2.99" {
			t.Errorf("%s example.org not forwarded: %v", netw, r)
		}
	}
}

func TestDNSWithoutUpstream(t *testing.T) {
	addr := dnstest.FreeAddr(t)
	startDNS(t, addr, nil)
	if r := query(t, "udp", addr, "example.org", mdns.TypeA); r.Rcode != mdns.RcodeServerFailure {
		t.Errorf("example.org: rcode %s, want SERVFAIL", mdns.RcodeToString[r.Rcode])
	}
	if r := query(t, "udp", addr, "unknown", mdns.TypeA); r.Rcode != mdns.RcodeNameError {
		t.Errorf("unknown bare name: rcode %s, want NXDOMAIN", mdns.RcodeToString[r.Rcode])
	}
	if r := query(t, "udp", addr, "web", mdns.TypeA); len(dnstest.AnswerIPs(r)) != 2 {
		t.Errorf("web: %v", r)
	}
}

func TestNewServerValidation(t *testing.T) {
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
		if _, err := NewServer(tc.addr, tc.domain, tc.lookup, tc.up); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewServer(%q, %q) = %v, want %q", tc.addr, tc.domain, err, tc.want)
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
