package network

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// poolPins lists the pool namespaces pinned in the run directory.
func poolPins(t *testing.T, m *Manager) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(m.runDir, "netns"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), m.poolIDPrefix()) {
			out = append(out, e.Name())
		}
	}
	return out
}

func poolSize(t *testing.T, m *Manager, name string) int {
	t.Helper()
	n, err := m.PoolSize(name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPoolTakeDetachAndRemove(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	vethsBefore := vethNames(t)
	name := uniqueName(t, "pool")
	n, err := m.EnsureNetwork(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.RemoveNetwork(name) })
	for range 2 {
		if err := m.AddToPool(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if got := poolSize(t, m, name); got != 2 {
		t.Fatalf("pool size %d, want 2", got)
	}

	id := name + "-c"
	path, err := m.ReserveNetNS(id)
	if err != nil {
		t.Fatal(err)
	}
	if isNetNS(path) {
		t.Fatal("ReserveNetNS created a namespace")
	}
	ip, ok, err := m.TakeFromPool(name, id, path)
	if err != nil || !ok {
		t.Fatalf("take: %v %v", ok, err)
	}
	t.Cleanup(func() { m.DeleteNetNS(id) })
	if !n.Subnet.Contains(ip) || !isNetNS(path) {
		t.Fatalf("took %s at %s (namespace %v)", ip, path, isNetNS(path))
	}
	if got := poolSize(t, m, name); got != 1 {
		t.Errorf("pool size after take %d, want 1", got)
	}
	if pins := poolPins(t, m); len(pins) != 1 {
		t.Errorf("pool pins after take %v, want the one left", pins)
	}
	var rec attachment
	if err := readJSON(m.attachmentPath(name, id), &rec); err != nil {
		t.Fatal(err)
	}
	entry := rec.CNIID
	if !strings.HasPrefix(entry, m.poolIDPrefix()) || rec.IP != ip.String() {
		t.Fatalf("container record %+v", rec)
	}

	// The taken namespace is the container's: reachable at its address.
	listenInNetNS(t, path, ":80", "hello from the pool")
	eventually(t, "dial the pooled namespace", func() error {
		got, err := readFrom("", net.JoinHostPort(ip.String(), "80"))
		if err == nil && got != "hello from the pool" {
			err = fmt.Errorf("got %q", got)
		}
		return err
	})

	// Already attached: a second network's eth0 cannot come from a pool.
	if _, ok, err := m.TakeFromPool(name, id, path+"-2"); ok || err != nil {
		t.Errorf("second take for an attached container: %v %v", ok, err)
	}
	if _, _, err := m.TakeFromPool(name, "pool-x", path); err == nil {
		t.Error("a container id with the reserved prefix was accepted")
	}

	// Detach releases what the ADD made under the entry's ID.
	if err := m.Detach(ctx, name, id, path, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteNetNS(id); err != nil {
		t.Fatal(err)
	}
	if owner := m.leaseOwner(n, ip); owner != "" {
		t.Errorf("lease of %s still held by %s", ip, owner)
	}
	if save := iptablesSave(t); strings.Contains(save, `id: \"`+entry+`\"`) || strings.Contains(save, ip.String()) {
		t.Errorf("rules of the taken entry left:\n%s", save)
	}

	// Removing the network releases the entry still in the pool.
	if err := m.RemoveNetwork(name); err != nil {
		t.Fatal(err)
	}
	if pins := poolPins(t, m); len(pins) != 0 {
		t.Errorf("pool pins left: %v", pins)
	}
	if leases, _ := os.ReadDir(m.leaseDir(n)); len(leases) != 0 {
		t.Errorf("leases left: %d", len(leases))
	}
	assertNoTraces(t, n, vethsBefore)
}

// A daemon killed while filling or taking leaves half-made entries, pins
// no record names, and entries a container already claimed: ReclaimPool
// undoes them and keeps the ready entries; RemoveNetwork leaves nothing.
func TestPoolReclaimAfterCrash(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	vethsBefore := vethNames(t)
	name := uniqueName(t, "reclaim")
	n, err := m.EnsureNetwork(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.RemoveNetwork(name) })
	for range 2 {
		if err := m.AddToPool(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	// Killed during a fill: the intent record and the namespace, no ADD.
	half := m.poolIDPrefix() + "half"
	if err := writeJSONAtomic(m.attachmentPath(name, half), attachment{Network: name, ContainerID: half, NetNS: m.NetNSPath(half), IfName: "eth0", Pooled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateNetNS(half); err != nil {
		t.Fatal(err)
	}
	// A pin no record names.
	if _, err := m.CreateNetNS(m.poolIDPrefix() + "orphan"); err != nil {
		t.Fatal(err)
	}
	// Killed during a take, after the container's record was written.
	atts, err := m.attachments(name)
	if err != nil {
		t.Fatal(err)
	}
	var claimedEntry attachment
	for _, a := range atts {
		if a.ready() {
			claimedEntry = a
			break
		}
	}
	id := name + "-c"
	path, _ := m.ReserveNetNS(id)
	if err := writeJSONAtomic(m.attachmentPath(name, id), attachment{Network: name, ContainerID: id, CNIID: claimedEntry.ContainerID, NetNS: path, IfName: "eth0", IP: claimedEntry.IP}); err != nil {
		t.Fatal(err)
	}

	m2, err := NewManager(m.stateDir, m.runDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.ReclaimPool(name); err != nil {
		t.Fatal(err)
	}
	if got := poolSize(t, m2, name); got != 1 {
		t.Errorf("ready entries after reclaim %d, want 1", got)
	}
	for _, gone := range []string{half, m.poolIDPrefix() + "orphan"} {
		if isNetNS(m.NetNSPath(gone)) {
			t.Errorf("%s still pinned", gone)
		}
	}
	if _, err := os.Stat(m.attachmentPath(name, half)); !os.IsNotExist(err) {
		t.Errorf("half-made entry's record: %v", err)
	}
	if _, err := os.Stat(m.attachmentPath(name, claimedEntry.ContainerID)); !os.IsNotExist(err) {
		t.Errorf("claimed entry's record: %v", err)
	}
	// The claimed entry's namespace is only pinned by its pool path
	// (the take died before pinning the container's): kept for Detach.
	if !isNetNS(claimedEntry.NetNS) {
		t.Error("claimed entry's namespace was unpinned before its container detached")
	}
	if err := m2.Detach(ctx, name, id, path, nil); err != nil {
		t.Fatal(err)
	}
	if isNetNS(claimedEntry.NetNS) {
		t.Error("claimed entry's pin left after Detach")
	}
	if err := m2.RemoveNetwork(name); err != nil {
		t.Fatal(err)
	}
	if pins := poolPins(t, m2); len(pins) != 0 {
		t.Errorf("pool pins left: %v", pins)
	}
	assertNoTraces(t, n, vethsBefore)
}
