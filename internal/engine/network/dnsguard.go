package network

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// The DNS server of a network listens on the gateway address in the host's
// network namespace, which anything that can route a packet to that
// address reaches: another machine on the host's LAN, or a container of
// another stack (through its own bridge). It must only serve the
// containers of its own bridge — it forwards to the host's resolvers and
// lists the stack's service names.
//
// guardDNS therefore inserts, per network, at the top of the filter
// table's INPUT chain:
//
//	-d GATEWAY/32 ! -i BRIDGE -p udp --dport 53 -j DROP
//	-d GATEWAY/32 ! -i BRIDGE -p tcp --dport 53 -j DROP
//
// Kernel rules rather than a socket option in the server: they hold
// whatever happens to the `berth proxy` process that runs the server (its
// restarts, a server bound before the bridge exists with IP_FREEBIND) and
// cost the server nothing per query. Queries from the host itself (they
// arrive on lo) are dropped too: only containers ask this server.
// RemoveNetwork's iptables sweep deletes the rules with the network (they
// name its bridge and gateway).

// dropStaleDNSGuards deletes guard rules for n's gateway that name another
// bridge: left by a network removed halfway (a daemon killed in
// RemoveNetwork), they would drop every query from n's bridge, since
// "! -i OLD" matches it. Two live networks never share a gateway.
func dropStaleDNSGuards(n Network) error {
	t, err := readTable("filter")
	if err != nil {
		return err
	}
	gw := n.Gateway.String() + "/32"
	for _, r := range t.rulesOf("INPUT") {
		if !isDNSGuard(r) || !slices.Contains(r.args, gw) || slices.Contains(r.args, n.Bridge) {
			continue
		}
		if err := iptables(append([]string{"-t", "filter", "-D", "INPUT"}, r.args...)...); err != nil {
			return fmt.Errorf("removing a stale DNS rule: %w", err)
		}
	}
	return nil
}

// isDNSGuard reports whether r is one of dnsGuardRules' rules.
func isDNSGuard(r iptRule) bool {
	for i, a := range r.args {
		if a == "--comment" && i+1 < len(r.args) && strings.HasPrefix(strings.Trim(r.args[i+1], `"`), "berth: DNS of ") {
			return true
		}
	}
	return false
}

// dnsPort is the port containers' resolv.conf points at on the gateway.
const dnsPort = "53"

func dnsGuardRules(n Network) [][]string {
	var out [][]string
	for _, proto := range []string{"udp", "tcp"} {
		out = append(out, []string{
			"-d", n.Gateway.String() + "/32", "!", "-i", n.Bridge,
			"-p", proto, "-m", proto, "--dport", dnsPort,
			"-m", "comment", "--comment", "berth: DNS of " + n.CNIName() + " answers its bridge only",
			"-j", "DROP",
		})
	}
	return out
}

// guardDNS installs n's rules unless present (iptables -C). Once per
// network and Manager: a daemon restart checks again.
func (m *Manager) guardDNS(n Network) error {
	if _, done := m.dnsGuarded.Load(n.Name); done {
		return nil
	}
	if err := dropStaleDNSGuards(n); err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	for _, r := range dnsGuardRules(n) {
		check := append([]string{"-w", "-t", "filter", "-C", "INPUT"}, r...)
		if exec.Command("iptables", check...).Run() == nil {
			continue
		}
		if err := iptables(append([]string{"-t", "filter", "-I", "INPUT", "1"}, r...)...); err != nil {
			return fmt.Errorf("network %s: restricting its DNS server to the bridge: %w", n.Name, err)
		}
	}
	m.dnsGuarded.Store(n.Name, true)
	return nil
}
