package proxyd

import (
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/berth-dev/berth/internal/dns/dnstest"
	"github.com/berth-dev/berth/internal/proxy"
)

func lookupA(t *testing.T, server, name string) ([]string, int) {
	t.Helper()
	c := &mdns.Client{Net: "udp", Timeout: 2 * time.Second}
	resp, _, err := c.Exchange(new(mdns.Msg).SetQuestion(mdns.Fqdn(name), mdns.TypeA), server)
	if err != nil {
		t.Fatalf("query %s at %s: %v", name, server, err)
	}
	var ips []string
	for _, rr := range resp.Answer {
		if a, ok := rr.(*mdns.A); ok {
			ips = append(ips, a.A.String())
		}
	}
	sort.Strings(ips) // the server shuffles them
	return ips, resp.Rcode
}

// The proxy process hosts the pushed zones: names answer at once, new
// names replace old ones in place, a zone no longer pushed stops, and a
// bad zone changes nothing.
func TestDNSHostServesPushedZones(t *testing.T) {
	h := newDNSHost(nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	defer h.close()
	a, b := dnstest.FreeAddr(t), dnstest.FreeAddr(t)
	zones := []proxy.DNSZone{
		{Addr: a, Domain: "shop", Names: map[string][]string{"web": {"10.89.0.2", "10.89.0.3"}, "shop-web-1": {"10.89.0.2"}}},
		{Addr: b, Domain: "blog"},
	}
	if err := h.apply(zones); err != nil {
		t.Fatal(err)
	}
	if ips, _ := lookupA(t, a, "web"); strings.Join(ips, ",") != "10.89.0.2,10.89.0.3" {
		t.Errorf("web: %v", ips)
	}
	if ips, _ := lookupA(t, a, "shop-web-1.shop"); strings.Join(ips, ",") != "10.89.0.2" {
		t.Errorf("shop-web-1.shop: %v", ips)
	}
	if _, rcode := lookupA(t, b, "web.blog"); rcode != mdns.RcodeNameError {
		t.Errorf("web.blog in an empty zone: rcode %s", mdns.RcodeToString[rcode])
	}

	// New names, same servers; blog's zone gone.
	zones = []proxy.DNSZone{{Addr: a, Domain: "shop", Names: map[string][]string{"web": {"10.89.0.4"}}}}
	if err := h.apply(zones); err != nil {
		t.Fatal(err)
	}
	if ips, _ := lookupA(t, a, "web"); strings.Join(ips, ",") != "10.89.0.4" {
		t.Errorf("web after the update: %v", ips)
	}
	if got := h.current(); len(got) != 1 || got[0].Addr != a || strings.Join(got[0].Names["web"], ",") != "10.89.0.4" {
		t.Errorf("current: %+v", got)
	}
	c := &mdns.Client{Net: "udp", Timeout: 300 * time.Millisecond}
	if _, _, err := c.Exchange(new(mdns.Msg).SetQuestion("web.blog.", mdns.TypeA), b); err == nil {
		t.Error("the removed zone's server still answers")
	}

	for _, bad := range [][]proxy.DNSZone{
		{{Addr: a, Domain: "shop", Names: map[string][]string{"Web": {"10.89.0.4"}}}},
		{{Addr: a, Domain: "shop", Names: map[string][]string{"web": {"not-an-ip"}}}},
		{{Addr: a, Domain: "shop"}, {Addr: a, Domain: "shop"}},
		{{Addr: "nonsense", Domain: "shop"}},
	} {
		if err := h.apply(bad); err == nil {
			t.Errorf("apply(%+v) succeeded", bad)
		}
	}
	if ips, _ := lookupA(t, a, "web"); strings.Join(ips, ",") != "10.89.0.4" {
		t.Errorf("web after rejected updates: %v", ips)
	}
}
