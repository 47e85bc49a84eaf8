package network

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strings"
)

// Isolation between berth networks is the CNI firewall plugin's
// ingressPolicy "same-bridge", in the filter table:
//
//	FORWARD               -j CNI-ISOLATION-STAGE-1   (inserted at the top)
//	                      -j CNI-FORWARD             (inserted at the top)
//	CNI-ISOLATION-STAGE-1 -i BR ! -o BR -j CNI-ISOLATION-STAGE-2  (per bridge, prepended)
//	                      -j RETURN
//	CNI-ISOLATION-STAGE-2 -o BR -j DROP                           (per bridge, prepended)
//	                      -j RETURN
//	CNI-FORWARD           -j CNI-ADMIN
//	                      -d IP -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
//	                      -s IP -j ACCEPT                          (per container)
//
// It only isolates while FORWARD consults the isolation chains before
// CNI-FORWARD: CNI-FORWARD accepts everything a container sends, to any
// bridge. The plugin gets that order only when it creates both jumps in
// the same ADD (CNI-FORWARD's first, then the isolation jump in front of
// it); each jump is inserted at the top only if it is missing. So whenever
// CNI-FORWARD is re-created while the isolation chains still exist — it
// was emptied and removed (removeSharedChainsIfUnused) while some bridge's
// isolation rules kept the isolation chains, e.g. rules of a bridge that
// was deleted outside CNI — its jump lands in front of the isolation jump
// and containers of different networks reach each other.
//
// reconcileIsolation therefore restores the invariants after every ADD
// (before the container runs), at network creation and removal and when a
// Manager starts (with the host lock held):
//   - the jump to CNI-ISOLATION-STAGE-1 comes before any jump to
//     CNI-FORWARD in FORWARD (moved atomically, so isolation is never off);
//   - in both isolation chains RETURN rules come after every bridge rule;
//   - rules naming a berth bridge that no longer exists are removed (they
//     match nothing, but would keep the isolation chains alive for ever).
// And removeSharedChainsIfUnused keeps CNI-FORWARD while the isolation
// chains exist, so berth itself never creates the bad order.

const (
	isolationStage1 = "CNI-ISOLATION-STAGE-1"
	isolationStage2 = "CNI-ISOLATION-STAGE-2"
	cniForwardChain = "CNI-FORWARD"
)

// berthBridgeRe matches the names bridgeName gives.
var berthBridgeRe = regexp.MustCompile(`^br-[0-9a-f]{12}$`)

// reconcileIsolation restores the isolation invariants described above
// in one iptables-restore transaction. Callers hold the host lock.
// Idempotent; only reads the filter table when all is in order.
func reconcileIsolation() error {
	t, err := readTable("filter")
	if err != nil {
		return err
	}
	var ops [][]string
	for _, chain := range []string{isolationStage1, isolationStage2} {
		var kept []iptRule
		for _, r := range t.rulesOf(chain) {
			stale, err := isStaleBridgeRule(r)
			if err != nil {
				return err
			}
			if stale {
				ops = append(ops, append([]string{"-D", chain}, r.args...))
			} else {
				kept = append(kept, r)
			}
		}
		ops = append(ops, returnsLast(kept)...)
	}
	ops = append(ops, isolationBeforeForward(t.rulesOf("FORWARD"))...)
	if len(ops) == 0 {
		return nil
	}
	if err := iptablesRestore("filter", ops); err != nil {
		return fmt.Errorf("restoring network isolation: %w", err)
	}
	return nil
}

// isStaleBridgeRule reports whether r names a berth bridge that does not
// exist (deleted outside CNI, so RemoveNetwork's sweep never ran).
func isStaleBridgeRule(r iptRule) (bool, error) {
	br := ruleInterface(r)
	if !berthBridgeRe.MatchString(br) {
		return false, nil
	}
	exists, err := interfaceExists(br)
	return !exists, err
}

// ruleInterface is the interface a rule's -i (or else -o) names.
func ruleInterface(r iptRule) string {
	out := ""
	for i := 0; i+1 < len(r.args); i++ {
		switch r.args[i] {
		case "-i":
			return r.args[i+1]
		case "-o":
			out = r.args[i+1]
		}
	}
	return out
}

func interfaceExists(name string) (bool, error) {
	_, err := net.InterfaceByName(name)
	if err == nil {
		return true, nil
	}
	if strings.Contains(err.Error(), "no such network interface") {
		return false, nil
	}
	return false, fmt.Errorf("look up interface %s: %w", name, err)
}

// returnsLast gives the operations moving a chain's RETURN rules behind
// its other rules, if any RETURN comes earlier: a bridge rule after the
// chain's RETURN is never reached.
func returnsLast(rules []iptRule) [][]string {
	lastOther := -1
	for i, r := range rules {
		if r.jumpTarget() != "RETURN" {
			lastOther = i
		}
	}
	var ops [][]string
	for i, r := range rules {
		if i < lastOther && r.jumpTarget() == "RETURN" {
			ops = append(ops, append([]string{"-D", r.chain}, r.args...), append([]string{"-A", r.chain}, r.args...))
		}
	}
	return ops
}

// isolationBeforeForward gives the operations moving FORWARD's jump to
// the isolation chains to the top (where the plugin puts it) if a jump to
// CNI-FORWARD comes first. Delete and insert are applied in one
// iptables-restore transaction, so there is no moment without it.
func isolationBeforeForward(forward []iptRule) [][]string {
	firstFwd := -1
	for i, r := range forward {
		switch r.jumpTarget() {
		case cniForwardChain:
			if firstFwd < 0 {
				firstFwd = i
			}
		case isolationStage1:
			if firstFwd < 0 {
				return nil // in order
			}
			return [][]string{
				append([]string{"-D", "FORWARD"}, r.args...),
				append([]string{"-I", "FORWARD", "1"}, r.args...),
			}
		}
	}
	return nil
}

// iptablesRestore applies ops (each an iptables command without the
// table: -D CHAIN RULE..., -I CHAIN N RULE...) to table in one atomic
// transaction with iptables-restore --noflush: all or nothing.
func iptablesRestore(table string, ops [][]string) error {
	var in bytes.Buffer
	fmt.Fprintf(&in, "*%s\n", table)
	for _, op := range ops {
		for i, arg := range op {
			q, err := restoreQuote(arg)
			if err != nil {
				return err
			}
			if i > 0 {
				in.WriteByte(' ')
			}
			in.WriteString(q)
		}
		in.WriteByte('\n')
	}
	in.WriteString("COMMIT\n")
	cmd := exec.Command("iptables-restore", "-w", "--noflush")
	cmd.Stdin = bytes.NewReader(in.Bytes())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables-restore --noflush: %w: %s (input %q)", err, strings.TrimSpace(string(out)), in.String())
	}
	return nil
}

// restoreQuote renders one argument for an iptables-restore line: as is
// when it is a plain word, else in double quotes with '"' and '\'
// backslash-escaped (how iptables-save writes comments and how
// iptables-restore reads them). Line breaks cannot be expressed.
func restoreQuote(arg string) (string, error) {
	if strings.ContainsAny(arg, "\n\r\x00") {
		return "", fmt.Errorf("iptables argument %q contains a line break or NUL", arg)
	}
	if arg != "" && !strings.ContainsAny(arg, " \t\"\\'#") {
		return arg, nil
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range []byte(arg) {
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String(), nil
}
