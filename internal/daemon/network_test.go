package daemon

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/engine/network"
	"github.com/berth-dev/berth/internal/model"
)

func newTestNetworks(t *testing.T) (*networks, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, CNI plugins, iptables)")
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		t.Skip("CNI plugins not installed")
	}
	runDir := t.TempDir()
	m, err := network.NewManager(t.TempDir(), runDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := newNetworks(m)
	t.Cleanup(n.close)
	return n, runDir
}

// waitPool polls until the network's pool holds want ready entries.
func waitPool(t *testing.T, n *networks, name string, want int) {
	t.Helper()
	// Refills beyond the first entry run at nice 19: on a loaded host
	// (a parallel test suite) they take long.
	deadline := time.Now().Add(90 * time.Second)
	for {
		got, err := n.m.PoolSize(name)
		if err == nil && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool of %s: %d ready entries (%v), want %d", name, got, err, want)
		}
		time.Sleep(20 * time.Millisecond) // polling files another goroutine writes
	}
}

func netnsFiles(t *testing.T, runDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(runDir, "netns"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// Ensure fills the pool; a container without ports takes an entry (and
// the pool refills), one with ports attaches itself; Remove leaves no
// namespace behind.
func TestNetworksPoolFillsTakesAndRemoves(t *testing.T) {
	n, runDir := newTestNetworks(t)
	ctx := context.Background()
	name := fmt.Sprintf("dpool%d", time.Now().UnixNano()%1_000_000_000)
	if _, err := n.Ensure(ctx, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Remove(context.Background(), name) })
	waitPool(t, n, name, defaultPoolSize)

	pooled, published := "c"+name+"a", "c"+name+"b"
	nsA, err := n.CreateNetNS(pooled)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(nsA); !os.IsNotExist(err) {
		t.Fatalf("CreateNetNS made %s (%v); only Attach should", nsA, err)
	}
	ipA, err := n.Attach(ctx, name, pooled, nsA, nil)
	if err != nil {
		t.Fatal(err)
	}
	nsB, _ := n.CreateNetNS(published)
	ipB, err := n.Attach(ctx, name, published, nsB, []model.PortMapping{{HostIP: "127.0.0.1", HostPort: freeTCPPort(t), ContainerPort: 80, Protocol: "tcp"}})
	if err != nil {
		t.Fatal(err)
	}
	if ipA.Equal(ipB) || ipA == nil || ipB == nil {
		t.Fatalf("addresses %s and %s", ipA, ipB)
	}
	// The refill waits until the starts are over, which the runtime's
	// Start reports once the supervisor has (here: at once).
	n.starts.end(pooled)
	n.starts.end(published)
	waitPool(t, n, name, defaultPoolSize) // refilled after the take

	for _, id := range []string{pooled, published} {
		ns := filepath.Join(runDir, "netns", id)
		if err := n.Detach(ctx, name, id, ns, nil); err != nil {
			t.Fatal(err)
		}
		if err := n.DeleteNetNS(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Remove(ctx, name); err != nil {
		t.Fatal(err)
	}
	if left := netnsFiles(t, runDir); len(left) != 0 {
		t.Errorf("namespaces left after Remove: %v", left)
	}
}

// A refill nobody waits for holds back while starts are in flight, but a
// container that finds the pool empty is served at once all the same.
func TestNetworksPoolServesWaitersWhileStartsInFlight(t *testing.T) {
	n, runDir := newTestNetworks(t)
	ctx := context.Background()
	name := fmt.Sprintf("dwait%d", time.Now().UnixNano()%1_000_000_000)
	if _, err := n.Ensure(ctx, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Remove(context.Background(), name) })
	waitPool(t, n, name, defaultPoolSize)
	var ids []string
	for i := range defaultPoolSize + 1 {
		id := fmt.Sprintf("c%s%d", name, i)
		ns, _ := n.CreateNetNS(id)
		actx, cancel := context.WithTimeout(ctx, 10*time.Second) // well under startGateExpiry
		_, err := n.Attach(actx, name, id, ns, nil)
		cancel()
		if err != nil {
			t.Fatalf("attach %d of %d with every start still in flight: %v", i+1, defaultPoolSize+1, err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		n.starts.end(id)
	}
	waitPool(t, n, name, defaultPoolSize)
	for _, id := range ids {
		if err := n.Detach(ctx, name, id, filepath.Join(runDir, "netns", id), nil); err != nil {
			t.Fatal(err)
		}
		if err := n.DeleteNetNS(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Remove(ctx, name); err != nil {
		t.Fatal(err)
	}
	if left := netnsFiles(t, runDir); len(left) != 0 {
		t.Errorf("namespaces left after Remove: %v", left)
	}
}

// A daemon's successor reuses the ready entries its predecessor left and
// reclaims the ones it left half-made.
func TestNetworksPoolSurvivesDaemonRestart(t *testing.T) {
	n, runDir := newTestNetworks(t)
	ctx := context.Background()
	name := fmt.Sprintf("drest%d", time.Now().UnixNano()%1_000_000_000)
	if _, err := n.Ensure(ctx, name); err != nil {
		t.Fatal(err)
	}
	waitPool(t, n, name, defaultPoolSize)
	n.close()
	before := netnsFiles(t, runDir)

	n2 := newNetworks(n.m)
	t.Cleanup(n2.close)
	if _, err := n2.Ensure(ctx, name); err != nil {
		t.Fatal(err)
	}
	waitPool(t, n2, name, defaultPoolSize)
	if after := netnsFiles(t, runDir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("entries changed across the restart: %v → %v", before, after)
	}
	if err := n2.Remove(ctx, name); err != nil {
		t.Fatal(err)
	}
	if left := netnsFiles(t, runDir); len(left) != 0 {
		t.Errorf("namespaces left after Remove: %v", left)
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
