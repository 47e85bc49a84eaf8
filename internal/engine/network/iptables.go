package network

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strings"
)

// The CNI plugins clean up after themselves on DEL only when they are given
// enough to go on (the bridge plugin needs the veth to still exist to find
// its masquerade chain; the firewall plugin's isolation rules are per bridge
// and never removed). sweepIPTables is the safety net: it deletes every
// rule in the nat and filter tables that mentions the detached container or
// removed network, plus the per-container chains those rules jump to.

// sharedChains are created once per host by the plugins and shared with
// every other CNI user; they are only ever removed when empty
// (removeSharedChainsIfUnused).
var sharedChains = map[string]bool{
	"CNI-HOSTPORT-DNAT":     true,
	"CNI-HOSTPORT-SETMARK":  true,
	"CNI-HOSTPORT-MASQ":     true,
	"CNI-FORWARD":           true,
	"CNI-ADMIN":             true,
	"CNI-ISOLATION-STAGE-1": true,
	"CNI-ISOLATION-STAGE-2": true,
}

// ruleMatcher selects the rules that belong to a container or network.
type ruleMatcher struct {
	subnet      *net.IPNet // any address in it
	ips         []net.IP   // exactly these addresses
	iface       string     // -i/-o of this interface
	cniName     string     // comment written by bridge/portmap for this network ...
	containerID string     // ... and, if set, this container
}

func (m ruleMatcher) match(r iptRule) bool {
	for i, tok := range r.args {
		if i > 0 && r.args[i-1] == "--comment" && m.cniName != "" {
			want := `name: "` + m.cniName + `"`
			if m.containerID != "" {
				want += ` id: "` + m.containerID + `"`
			}
			if strings.Contains(tok, want) {
				return true
			}
			continue
		}
		if m.iface != "" && tok == m.iface {
			return true
		}
		if ip := tokenIPv4(tok); ip != nil {
			if m.subnet != nil && m.subnet.Contains(ip) {
				return true
			}
			for _, want := range m.ips {
				if want.Equal(ip) {
					return true
				}
			}
		}
	}
	return false
}

// tokenIPv4 reads "10.1.2.3", "10.1.2.3/32" or "10.1.2.3:80".
func tokenIPv4(tok string) net.IP {
	tok, _, _ = strings.Cut(tok, "/")
	if host, _, ok := strings.Cut(tok, ":"); ok {
		tok = host
	}
	ip := net.ParseIP(tok)
	if ip == nil {
		return nil
	}
	return ip.To4()
}

type iptRule struct {
	chain string
	args  []string // everything after "-A CHAIN"
}

func (r iptRule) jumpTarget() string {
	for i := 0; i+1 < len(r.args); i++ {
		if r.args[i] == "-j" || r.args[i] == "-g" {
			return r.args[i+1]
		}
	}
	return ""
}

type iptTable struct {
	chains map[string]bool // user-defined and built-in chains
	rules  []iptRule
}

func (t iptTable) rulesOf(chain string) []iptRule {
	var out []iptRule
	for _, r := range t.rules {
		if r.chain == chain {
			out = append(out, r)
		}
	}
	return out
}

func readTable(table string) (iptTable, error) {
	out, err := exec.Command("iptables-save", "-t", table).Output()
	if err != nil {
		return iptTable{}, fmt.Errorf("iptables-save -t %s: %w%s", table, err, stderrOf(err))
	}
	t := iptTable{chains: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, ":"):
			name, _, _ := strings.Cut(line[1:], " ")
			t.chains[name] = true
		case strings.HasPrefix(line, "-A "):
			toks, err := splitRule(line)
			if err != nil {
				return iptTable{}, err
			}
			if len(toks) < 2 {
				continue
			}
			t.rules = append(t.rules, iptRule{chain: toks[1], args: toks[2:]})
		}
	}
	return t, sc.Err()
}

// splitRule tokenises an iptables-save line: whitespace separates tokens,
// double quotes group (comments), backslash escapes inside quotes.
func splitRule(line string) ([]string, error) {
	var toks []string
	var cur strings.Builder
	inTok, inQuote := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case inQuote && c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			inQuote = !inQuote
			inTok = true
		case !inQuote && (c == ' ' || c == '\t'):
			if inTok {
				toks = append(toks, cur.String())
				cur.Reset()
				inTok = false
			}
		default:
			cur.WriteByte(c)
			inTok = true
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unterminated quote in iptables rule %q", line)
	}
	if inTok {
		toks = append(toks, cur.String())
	}
	return toks, nil
}

func iptables(args ...string) error {
	// -w waits for the xtables lock the CNI plugins also take.
	out, err := exec.Command("iptables", append([]string{"-w"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

func sweepIPTables(m ruleMatcher) error {
	for _, table := range []string{"nat", "filter"} {
		t, err := readTable(table)
		if err != nil {
			return err
		}
		var matched []iptRule
		drop := map[string]bool{}
		for _, r := range t.rules {
			if !m.match(r) {
				continue
			}
			matched = append(matched, r)
			if tgt := r.jumpTarget(); strings.HasPrefix(tgt, "CNI-") && !sharedChains[tgt] && t.chains[tgt] {
				drop[tgt] = true
			}
		}
		for _, r := range matched {
			if drop[r.chain] {
				continue // goes away with its chain
			}
			if err := iptables(append([]string{"-t", table, "-D", r.chain}, r.args...)...); err != nil {
				return err
			}
		}
		for chain := range drop {
			if err := iptables("-t", table, "-F", chain); err != nil {
				return err
			}
			if err := iptables("-t", table, "-X", chain); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeSharedChainsIfUnused deletes the host-wide chains the plugins create
// (and the rules jumping to them) once nothing is published or firewalled
// any more, so that removing the last berth network leaves iptables as it
// found it. Chains still holding any container's rules are left alone; the
// plugins recreate them on their next ADD.
func removeSharedChainsIfUnused() error {
	nat, err := readTable("nat")
	if err != nil {
		return err
	}
	if nat.chains["CNI-HOSTPORT-DNAT"] && len(nat.rulesOf("CNI-HOSTPORT-DNAT")) == 0 {
		if err := dropChain("nat", nat, "CNI-HOSTPORT-DNAT"); err != nil {
			return err
		}
		// The mark/masquerade pair only serves the DNAT rules.
		for _, c := range []string{"CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"} {
			if nat.chains[c] && !referencedOutside(nat, c, "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK", "POSTROUTING") {
				if err := dropChain("nat", nat, c); err != nil {
					return err
				}
			}
		}
	}

	filter, err := readTable("filter")
	if err != nil {
		return err
	}
	// Isolation stage 2 only holds per-bridge DROP rules, stage 1 per-bridge
	// jumps plus a final RETURN.
	if filter.chains["CNI-ISOLATION-STAGE-2"] && onlyReturns(filter.rulesOf("CNI-ISOLATION-STAGE-2")) &&
		onlyReturns(filter.rulesOf("CNI-ISOLATION-STAGE-1")) {
		for _, c := range []string{"CNI-ISOLATION-STAGE-1", "CNI-ISOLATION-STAGE-2"} {
			if filter.chains[c] {
				if err := dropChain("filter", filter, c); err != nil {
					return err
				}
			}
		}
		if filter, err = readTable("filter"); err != nil {
			return err
		}
	}
	fwd := filter.rulesOf("CNI-FORWARD")
	fwdOnlyAdmin := true
	for _, r := range fwd {
		if r.jumpTarget() != "CNI-ADMIN" {
			fwdOnlyAdmin = false
		}
	}
	// CNI-FORWARD goes only with the isolation chains: re-created while
	// they exist, its jump would land in front of theirs (isolation.go).
	isolationGone := !filter.chains[isolationStage1] && !filter.chains[isolationStage2]
	if filter.chains["CNI-FORWARD"] && fwdOnlyAdmin && len(filter.rulesOf("CNI-ADMIN")) == 0 && isolationGone {
		if err := dropChain("filter", filter, "CNI-FORWARD"); err != nil {
			return err
		}
		if filter.chains["CNI-ADMIN"] {
			if err := dropChain("filter", filter, "CNI-ADMIN"); err != nil {
				return err
			}
		}
	}
	return nil
}

func onlyReturns(rules []iptRule) bool {
	for _, r := range rules {
		if r.jumpTarget() != "RETURN" {
			return false
		}
	}
	return true
}

// referencedOutside reports whether a rule in a chain other than the listed
// ones jumps to chain.
func referencedOutside(t iptTable, chain string, except ...string) bool {
	for _, r := range t.rules {
		if r.jumpTarget() != chain {
			continue
		}
		skip := false
		for _, e := range except {
			if r.chain == e {
				skip = true
			}
		}
		if !skip {
			return true
		}
	}
	return false
}

// dropChain deletes every rule jumping to chain, then the chain itself. It
// reads the table afresh because an earlier drop may have removed rules.
func dropChain(table string, _ iptTable, chain string) error {
	t, err := readTable(table)
	if err != nil {
		return err
	}
	if !t.chains[chain] {
		return nil
	}
	for _, r := range t.rules {
		if r.jumpTarget() == chain {
			if err := iptables(append([]string{"-t", table, "-D", r.chain}, r.args...)...); err != nil {
				return err
			}
		}
	}
	if err := iptables("-t", table, "-F", chain); err != nil {
		return err
	}
	return iptables("-t", table, "-X", chain)
}
