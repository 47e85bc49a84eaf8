package network

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// isoContainer is a namespace attached to a network with a listener on :80
// answering its own name.
type isoContainer struct {
	name, ns string
	ip       net.IP
}

func attachIsoContainer(t *testing.T, m *Manager, netName, id string) isoContainer {
	t.Helper()
	ctx := context.Background()
	ns, err := m.CreateNetNS(id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.DeleteNetNS(id) })
	ip, err := m.Attach(ctx, netName, id, ns, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Detach(ctx, netName, id, ns, nil) })
	listenInNetNS(t, ns, ":80", id)
	return isoContainer{name: id, ns: ns, ip: ip}
}

// forwardingRules is the evidence a failed isolation check prints: the
// FORWARD chain and the chains the CNI plugins hang into it.
func forwardingRules(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, c := range []string{"FORWARD", "CNI-FORWARD", "CNI-ISOLATION-STAGE-1", "CNI-ISOLATION-STAGE-2"} {
		out, _ := exec.Command("iptables", "-w", "-S", c).CombinedOutput()
		b.Write(out)
	}
	return b.String()
}

// assertReach checks that from reaches to's listener when same is true
// and cannot connect to it at all otherwise.
func assertReach(t *testing.T, from, to isoContainer, same bool) {
	t.Helper()
	addr := net.JoinHostPort(to.ip.String(), "80")
	if same {
		eventually(t, from.name+" reaches "+to.name+" on the same network", func() error {
			_, err := readFrom(from.ns, addr)
			return err
		})
		return
	}
	err := inNetNS(from.ns, func() error {
		c, err := net.DialTimeout("tcp4", addr, 500*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err == nil {
		t.Errorf("%s (%s) reached %s (%s) of another network; forwarding rules:\n%s",
			from.name, from.ip, to.name, to.ip, forwardingRules(t))
	}
}

// assertNetworksIsolated: containers of one network reach each other, no
// container reaches one of the other network, in either direction.
func assertNetworksIsolated(t *testing.T, p1, p2, q1 isoContainer) {
	t.Helper()
	assertReach(t, p2, p1, true)
	assertReach(t, p1, p2, true)
	assertReach(t, q1, p1, false)
	assertReach(t, q1, p2, false)
	assertReach(t, p1, q1, false)
}

// cleanupStaleBridge removes, at the end of a test, whatever rules name a
// bridge the test deleted behind CNI's back (and the shared chains, once
// nothing else uses them).
func cleanupStaleBridge(t *testing.T, bridge string) {
	t.Cleanup(func() {
		if err := sweepIPTables(ruleMatcher{iface: bridge}); err != nil {
			t.Error(err)
		}
		if err := removeSharedChainsIfUnused(); err != nil {
			t.Error(err)
		}
	})
}

// TestIsolationAfterStaleBridge: a network whose bridge was deleted outside
// CNI (a killed run, then `ip link del`) leaves its per-bridge rules in
// CNI-ISOLATION-STAGE-1/2, which keeps those chains — and FORWARD's jump
// into them — alive after the last network is removed, while the emptied
// CNI-FORWARD chain goes. The firewall plugin then re-creates CNI-FORWARD
// with its jump inserted at the top of FORWARD, in front of the isolation
// jump, and CNI-FORWARD's "-s CONTAINER -j ACCEPT" accepts traffic to
// other networks before isolation is consulted. New networks must be
// isolated whatever such leftovers look like.
func TestIsolationAfterStaleBridge(t *testing.T) {
	ctx := context.Background()
	old := newTestManager(t)
	staleNet := uniqueName(t, "isostale")
	sn, err := old.EnsureNetwork(staleNet)
	if err != nil {
		t.Fatal(err)
	}
	cleanupStaleBridge(t, sn.Bridge)
	id := staleNet + "-c"
	ns, err := old.CreateNetNS(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Attach(ctx, staleNet, id, ns, nil); err != nil {
		t.Fatal(err)
	}
	if err := old.Detach(ctx, staleNet, id, ns, nil); err != nil {
		t.Fatal(err)
	}
	if err := old.DeleteNetNS(id); err != nil {
		t.Fatal(err)
	}
	// The bridge goes by hand; the network record and its rules stay
	// (the run that owned them is gone).
	if err := deleteLink(sn.Bridge); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(iptablesSave(t), "-o "+sn.Bridge+" ") {
		t.Fatalf("setup: no isolation rule for %s:\n%s", sn.Bridge, forwardingRules(t))
	}

	// Other runs come and go: a network created and removed by someone
	// else removes the shared chains nothing uses any more.
	other := newTestManager(t)
	passing := uniqueName(t, "isopass")
	if _, err := other.EnsureNetwork(passing); err != nil {
		t.Fatal(err)
	}
	if err := other.RemoveNetwork(passing); err != nil {
		t.Fatal(err)
	}

	m := newTestManager(t)
	p, q := uniqueName(t, "isop"), uniqueName(t, "isoq")
	for _, name := range []string{p, q} {
		if _, err := m.EnsureNetwork(name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.RemoveNetwork(name) })
	}
	p1 := attachIsoContainer(t, m, p, p+"-1")
	p2 := attachIsoContainer(t, m, p, p+"-2")
	q1 := attachIsoContainer(t, m, q, q+"-1")
	assertNetworksIsolated(t, p1, p2, q1)
	if rules := iptablesSave(t); strings.Contains(rules, sn.Bridge) {
		t.Errorf("rules of the deleted bridge %s left after a new network was created:\n%s", sn.Bridge, forwardingRules(t))
	}
}

// TestIsolationAfterSharedChainsDropped: the same ordering, reached
// without anything stale. Networks p and q keep their bridges (and their
// isolation rules) after their containers are detached; removing a third
// network then drops the emptied CNI-FORWARD chain but not the isolation
// chains, and the next attach re-creates CNI-FORWARD's jump in front of
// the isolation jump.
func TestIsolationAfterSharedChainsDropped(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t)
	p, q, r := uniqueName(t, "isop"), uniqueName(t, "isoq"), uniqueName(t, "isor")
	for _, name := range []string{p, q, r} {
		if _, err := m.EnsureNetwork(name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.RemoveNetwork(name) })
	}
	for _, name := range []string{p, q} {
		id := name + "-first"
		ns, err := m.CreateNetNS(id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Attach(ctx, name, id, ns, nil); err != nil {
			t.Fatal(err)
		}
		if err := m.Detach(ctx, name, id, ns, nil); err != nil {
			t.Fatal(err)
		}
		if err := m.DeleteNetNS(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.RemoveNetwork(r); err != nil {
		t.Fatal(err)
	}
	p1 := attachIsoContainer(t, m, p, p+"-1")
	p2 := attachIsoContainer(t, m, p, p+"-2")
	q1 := attachIsoContainer(t, m, q, q+"-1")
	assertNetworksIsolated(t, p1, p2, q1)
}

// TestIsolationAfterCNIForwardRemoved: another CNI user on the host (or an
// older berth) removes the CNI-FORWARD chain while networks p and q keep
// their isolation rules; the next attach re-creates CNI-FORWARD's jump in
// front of the isolation jump, which the Manager must move back before the
// container runs.
func TestIsolationAfterCNIForwardRemoved(t *testing.T) {
	ctx := context.Background()
	m := newTestManager(t)
	p, q := uniqueName(t, "isop"), uniqueName(t, "isoq")
	for _, name := range []string{p, q} {
		if _, err := m.EnsureNetwork(name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.RemoveNetwork(name) })
		id := name + "-first"
		ns, err := m.CreateNetNS(id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Attach(ctx, name, id, ns, nil); err != nil {
			t.Fatal(err)
		}
		if err := m.Detach(ctx, name, id, ns, nil); err != nil {
			t.Fatal(err)
		}
		if err := m.DeleteNetNS(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := dropChain("filter", iptTable{}, cniForwardChain); err != nil {
		t.Fatal(err)
	}
	p1 := attachIsoContainer(t, m, p, p+"-1")
	p2 := attachIsoContainer(t, m, p, p+"-2")
	q1 := attachIsoContainer(t, m, q, q+"-1")
	assertNetworksIsolated(t, p1, p2, q1)
}

// inFreshNetNS runs fn on an OS thread in a new, empty network namespace
// (own iptables tables and interfaces; commands fn runs inherit it). The
// thread is never unlocked, so the runtime discards it afterwards. fn runs
// on another goroutine: it reports with t.Errorf or its error, never
// t.Fatal or t.Skip.
func inFreshNetNS(t *testing.T, fn func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func chainRules(chain string) ([]string, error) {
	out, err := exec.Command("iptables", "-w", "-S", chain).CombinedOutput()
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")[1:], nil // without -N / -P
}

// TestReconcileIsolation builds, in a namespace of its own, the rule order
// that lets containers of different networks reach each other — FORWARD
// jumping to CNI-FORWARD first, a RETURN before bridge rules — plus rules
// of a deleted berth bridge, and checks that reconcileIsolation repairs
// all of it, keeps what belongs to live or foreign bridges, and changes
// nothing the second time.
func TestReconcileIsolation(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, iptables)")
	}
	if _, err := exec.LookPath("iptables-restore"); err != nil {
		t.Skip("iptables-restore not installed")
	}
	const (
		plugin = "CNI firewall plugin rules (ingressPolicy: same-bridge)"
		odd    = `odd "quoted" \comment`
		live   = "br-0000000000aa"
		gone   = "br-0000000000bb"
		alien  = "cni-podman0" // not berth's: left alone even though absent
	)
	inFreshNetNS(t, func() error {
		if out, err := exec.Command("ip", "link", "add", live, "type", "bridge").CombinedOutput(); err != nil {
			return fmt.Errorf("create bridge %s: %v: %s", live, err, out)
		}
		for _, cmd := range [][]string{
			{"-N", "CNI-FORWARD"}, {"-N", isolationStage1}, {"-N", isolationStage2},
			{"-A", "FORWARD", "-m", "comment", "--comment", "CNI firewall plugin rules", "-j", "CNI-FORWARD"},
			{"-A", "FORWARD", "-m", "comment", "--comment", plugin, "-j", isolationStage1},
			{"-A", "CNI-FORWARD", "-s", "10.89.0.2/32", "-j", "ACCEPT"},
			{"-A", isolationStage1, "-m", "comment", "--comment", odd, "-j", "RETURN"},
			{"-A", isolationStage1, "-i", gone, "!", "-o", gone, "-j", isolationStage2},
			{"-A", isolationStage1, "-i", live, "!", "-o", live, "-j", isolationStage2},
			{"-A", isolationStage1, "-i", alien, "!", "-o", alien, "-j", isolationStage2},
			{"-A", isolationStage2, "-o", gone, "-j", "DROP"},
			{"-A", isolationStage2, "-m", "comment", "--comment", plugin, "-j", "RETURN"},
			{"-A", isolationStage2, "-o", live, "-j", "DROP"},
		} {
			if err := iptables(cmd...); err != nil {
				return err
			}
		}
		if err := reconcileIsolation(); err != nil {
			return err
		}
		want := map[string][]string{
			"FORWARD": {
				`-A FORWARD -m comment --comment "` + plugin + `" -j CNI-ISOLATION-STAGE-1`,
				`-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD`,
			},
			isolationStage1: {
				"-A CNI-ISOLATION-STAGE-1 -i " + live + " ! -o " + live + " -j CNI-ISOLATION-STAGE-2",
				"-A CNI-ISOLATION-STAGE-1 -i " + alien + " ! -o " + alien + " -j CNI-ISOLATION-STAGE-2",
				`-A CNI-ISOLATION-STAGE-1 -m comment --comment "odd \"quoted\" \\comment" -j RETURN`,
			},
			isolationStage2: {
				"-A CNI-ISOLATION-STAGE-2 -o " + live + " -j DROP",
				`-A CNI-ISOLATION-STAGE-2 -m comment --comment "` + plugin + `" -j RETURN`,
			},
			"CNI-FORWARD": {"-A CNI-FORWARD -s 10.89.0.2/32 -j ACCEPT"},
		}
		check := func(when string) {
			for chain, w := range want {
				got, err := chainRules(chain)
				if err != nil {
					t.Errorf("iptables -S %s: %v", chain, err)
				}
				if !slices.Equal(got, w) {
					t.Errorf("%s, chain %s:\n got %q\nwant %q", when, chain, got, w)
				}
			}
		}
		check("after reconciling")
		if err := reconcileIsolation(); err != nil {
			return err
		}
		check("after reconciling again")
		return nil
	})
}
