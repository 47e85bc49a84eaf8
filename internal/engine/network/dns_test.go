package network

import (
	"context"
	"net"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/berth-dev/berth/internal/dns"
	"github.com/berth-dev/berth/internal/dns/dnstest"
)

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
	s, err := dns.NewServer(gw, name, func(svc string) []net.IP {
		if svc == "web" {
			return []net.IP{net.ParseIP("10.89.200.5")}
		}
		return nil
	}, []string{dnstest.FakeUpstream(t)})
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

	ask := func(qname string) *mdns.Msg {
		var resp *mdns.Msg
		eventually(t, "query "+qname+" from the container", func() error {
			return inNetNS(ns, func() error {
				c := &mdns.Client{Net: "udp", Timeout: time.Second}
				var err error
				resp, _, err = c.Exchange(new(mdns.Msg).SetQuestion(mdns.Fqdn(qname), mdns.TypeA), gw)
				return err
			})
		})
		return resp
	}
	if r := ask("web"); len(dnstest.AnswerIPs(r)) != 1 || dnstest.AnswerIPs(r)[0] != "10.89.200.5" {
		t.Errorf("web: %v", r)
	}
	if r := ask("web." + name); len(dnstest.AnswerIPs(r)) != 1 {
		t.Errorf("web.%s: %v", name, r)
	}
	if r := ask("missing." + name); r.Rcode != mdns.RcodeNameError {
		t.Errorf("missing.%s: rcode %s", name, mdns.RcodeToString[r.Rcode])
	}
	if r := ask("example.org"); len(dnstest.AnswerIPs(r)) != 1 || dnstest.AnswerIPs(r)[0] != "192.0.2.99" {
		t.Errorf("example.org: %v", r)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
}
