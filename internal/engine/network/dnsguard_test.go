package network

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/berth-dev/berth/internal/dns"
	"github.com/berth-dev/berth/internal/dns/dnstest"
)

// outsideNetNS is a network namespace standing for a machine next to the
// host: a veth pair, 169.254.77.1/30 on the host end and .2 inside, with a
// default route through the host, so the gateway addresses of berth's
// bridges are reachable from it as they are from the host's LAN.
func outsideNetNS(t *testing.T, m *Manager) string {
	t.Helper()
	id := uniqueName(t, "outside")
	ns, err := m.CreateNetNS(id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.DeleteNetNS(id) })
	host, peer := "bvo"+id[len(id)-8:], "bvi"+id[len(id)-8:]
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	in := "--net=" + ns
	run("ip", "link", "add", host, "type", "veth", "peer", "name", peer)
	t.Cleanup(func() { deleteLink(host) })
	run("ip", "link", "set", peer, "netns", ns) // a path (with '/') is opened as is
	run("ip", "addr", "add", "169.254.77.1/30", "dev", host)
	run("ip", "link", "set", host, "up")
	run("nsenter", in, "ip", "addr", "add", "169.254.77.2/30", "dev", peer)
	run("nsenter", in, "ip", "link", "set", peer, "up")
	run("nsenter", in, "ip", "route", "add", "default", "via", "169.254.77.1")
	return ns
}

// TestDNSAnswersOnlyTheBridge: the gateway's DNS server forwards and
// answers for the containers of its bridge, not for whoever can route a
// packet to the gateway address (another machine, or a container of
// another stack).
func TestDNSAnswersOnlyTheBridge(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	name := uniqueName(t, "guard")
	n, err := m.EnsureNetwork(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.RemoveNetwork(name) })
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
	cns, err := m.CreateNetNS(id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.DeleteNetNS(id) })
	if _, err := m.Attach(ctx, name, id, cns, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Detach(ctx, name, id, cns, nil) })
	outside := outsideNetNS(t, m)

	query := func(ns, netw, qname string) (*mdns.Msg, error) {
		var resp *mdns.Msg
		err := inNetNS(ns, func() error {
			c := &mdns.Client{Net: netw, Timeout: time.Second}
			var err error
			resp, _, err = c.Exchange(new(mdns.Msg).SetQuestion(mdns.Fqdn(qname), mdns.TypeA), gw)
			return err
		})
		return resp, err
	}
	// The container resolves (eventually: its veth comes up).
	eventually(t, "the container resolving web", func() error {
		r, err := query(cns, "udp", "web")
		if err == nil && len(dnstest.AnswerIPs(r)) != 1 {
			return errors.New("no answer")
		}
		return err
	})
	// The outside namespace reaches the gateway address (TCP to another
	// port is refused, not dropped: the route works) ...
	eventually(t, "the outside namespace routing to the gateway", func() error {
		return inNetNS(outside, func() error {
			c, err := net.DialTimeout("tcp4", net.JoinHostPort(n.Gateway.String(), "9"), time.Second)
			if err == nil {
				c.Close()
				return nil
			}
			if strings.Contains(err.Error(), "refused") {
				return nil
			}
			return err
		})
	})
	// ... but gets no answer from the DNS server, over UDP or TCP, for
	// a service name or a name it would forward.
	for _, netw := range []string{"udp", "tcp"} {
		for _, q := range []string{"web", "example.org"} {
			if r, err := query(outside, netw, q); err == nil {
				t.Errorf("%s query for %s from outside the bridge answered: %v", netw, q, r)
			}
		}
	}
	if r, err := query(cns, "tcp", "example.org"); err != nil || len(dnstest.AnswerIPs(r)) != 1 {
		t.Errorf("container over TCP: %v, %v", r, err)
	}

	// down removes the rules with the network.
	if err := m.RemoveNetwork(name); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("iptables-save", "-t", "filter").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), n.Gateway.String()+"/32") || strings.Contains(string(out), n.Bridge) {
		t.Errorf("rules naming the removed network remain:\n%s", out)
	}
}

// TestStaleDNSGuardsDropped: a network removed halfway (daemon killed in
// RemoveNetwork) leaves "-d GW ! -i OLD -j DROP"; a new network given the
// same gateway must not have its own bridge's queries dropped by it.
func TestStaleDNSGuardsDropped(t *testing.T) {
	requireRoot(t)
	gw := net.IPv4(10, 89, 254, 1).To4()
	stale := Network{Name: "gone", Bridge: "br-00000000dead", Gateway: gw}
	live := Network{Name: "live", Bridge: "br-00000000beef", Gateway: gw}
	other := Network{Name: "other", Bridge: "br-00000000cafe", Gateway: net.IPv4(10, 89, 253, 1).To4()}
	for _, n := range []Network{stale, live, other} {
		for _, r := range dnsGuardRules(n) {
			if err := iptables(append([]string{"-t", "filter", "-I", "INPUT", "1"}, r...)...); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { iptables(append([]string{"-t", "filter", "-D", "INPUT"}, r...)...) })
		}
	}
	if err := dropStaleDNSGuards(live); err != nil {
		t.Fatal(err)
	}
	rules := iptablesSave(t)
	if strings.Contains(rules, stale.Bridge) {
		t.Errorf("stale rules for %s's gateway left:\n%s", stale.Bridge, rules)
	}
	if strings.Count(rules, live.Bridge) != 2 || strings.Count(rules, other.Bridge) != 2 {
		t.Errorf("live rules removed:\n%s", rules)
	}
}
