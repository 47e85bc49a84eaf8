package network

// A network's pool of pre-attached network namespaces.
//
// A CNI ADD costs ~60 ms per container (three plugin execs and a dozen
// iptables calls), most of a container's start. A container that publishes
// no ports through CNI needs nothing container-specific from it: any
// namespace with a veth on the bridge and an address will do. So namespaces
// are attached ahead of time (AddToPool, which the daemon runs in the
// background) and a starting container takes one (TakeFromPool): two small
// record writes and a bind mount.
//
// A pool entry is an attachment record with Pooled set, named by the
// entry's ID (poolIDPrefix + random hex), whose namespace is pinned at
// NetNSPath(entry ID). Its record is written before the namespace and the
// ADD, as an intent, so detachLocked can undo a crash half-way. The plugins
// know the entry by its ID for good (leases, iptables comments, libcni's
// cache), so taking an entry writes the container's record with CNIID =
// the entry ID before removing the entry's record, then moves the pin to
// the container's path. Every step can be repeated, and ReclaimPool undoes
// whatever a crash between them leaves; RemoveNetwork detaches pool entries
// like any other attachment and removes their namespaces.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// poolIDPrefix starts every pool entry ID of this Manager; it includes a
// hash of the state directory so that two berth roots sharing a run
// directory never reclaim each other's namespaces.
func (m *Manager) poolIDPrefix() string {
	sum := sha256.Sum256([]byte(m.stateDir + "\x00pool"))
	return "pool-" + hex.EncodeToString(sum[:])[:8] + "-"
}

// lockPool serialises takes against each other and against ReclaimPool and
// RemoveNetwork. Takes do not need the main lock, which a filler holds for
// the whole of its ADD. Order: the main lock first, then this one.
func (m *Manager) lockPool() (*fileLock, error) {
	return lockFile(filepath.Join(m.stateDir, "pool.lock"))
}

// AddToPool attaches one more namespace to network netName's pool. On any
// failure the partial entry is undone.
func (m *Manager) AddToPool(ctx context.Context, netName string) error {
	if err := validateNetName(netName); err != nil {
		return err
	}
	l, err := m.lock()
	if err != nil {
		return err
	}
	defer l.unlock()
	n, err := m.loadNetwork(netName)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("add to pool: network %q does not exist", netName)
	}
	if err != nil {
		return err
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	id := m.poolIDPrefix() + hex.EncodeToString(rnd[:])
	a := attachment{Network: netName, ContainerID: id, NetNS: m.NetNSPath(id), IfName: "eth0", Pooled: true}
	if err := writeJSONAtomic(m.attachmentPath(netName, id), a); err != nil {
		return err
	}
	undo := func(cause error) error {
		cause = fmt.Errorf("add to the pool of network %q: %w", netName, cause)
		if derr := m.detachLocked(context.WithoutCancel(ctx), a); derr != nil {
			return errors.Join(cause, fmt.Errorf("undo: %w", derr))
		}
		return cause
	}
	if _, err := m.CreateNetNS(id); err != nil {
		return undo(err)
	}
	list, err := m.confList(n, a.IfName, false)
	if err != nil {
		return undo(err)
	}
	res, err := m.cni.AddNetworkList(ctx, list, m.runtimeConf(a))
	if err != nil {
		return undo(err)
	}
	// The ADD may have put CNI-FORWARD in front of isolation.
	if err := reconcileIsolation(); err != nil {
		return undo(err)
	}
	ip, err := resultIPv4(res, &n.Subnet)
	if err != nil {
		return undo(err)
	}
	a.IP = ip.String()
	if err := writeJSONAtomic(m.attachmentPath(netName, id), a); err != nil {
		return undo(err)
	}
	return nil
}

// ready reports whether a is a pool entry a container can take.
func (a attachment) ready() bool {
	return a.Pooled && net.ParseIP(a.IP).To4() != nil && isNetNS(a.NetNS)
}

// PoolSize is the number of ready entries in network netName's pool.
func (m *Manager) PoolSize(netName string) (int, error) {
	if err := validateNetName(netName); err != nil {
		return 0, err
	}
	atts, err := m.attachments(netName)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range atts {
		if a.ready() {
			n++
		}
	}
	return n, nil
}

// TakeFromPool attaches containerID to network netName with a namespace
// from the network's pool, pinned at netnsPath (which must not be a
// namespace yet), and returns its address. ok is false, with nothing
// changed, when no entry is ready or the container already has an
// attachment (a pool entry's interface is always eth0). After an error the
// container's attachment record may exist: Detach undoes it as usual.
func (m *Manager) TakeFromPool(netName, containerID, netnsPath string) (ip net.IP, ok bool, err error) {
	if err := validateNetName(netName); err != nil {
		return nil, false, err
	}
	if err := validateID("container id", containerID); err != nil {
		return nil, false, err
	}
	if strings.HasPrefix(containerID, "pool-") {
		return nil, false, fmt.Errorf("container id %q: the prefix pool- is reserved for pool entries", containerID)
	}
	if !filepath.IsAbs(netnsPath) {
		return nil, false, fmt.Errorf("take from pool: netns path %q must be absolute", netnsPath)
	}
	l, err := m.lockPool()
	if err != nil {
		return nil, false, err
	}
	defer l.unlock()
	if others, _ := filepath.Glob(filepath.Join(m.stateDir, "attachments", "*", containerID+".json")); len(others) > 0 {
		return nil, false, nil
	}
	atts, err := m.attachments(netName)
	if err != nil {
		return nil, false, err
	}
	var e *attachment
	for i := range atts {
		if atts[i].ready() {
			e = &atts[i]
			break
		}
	}
	if e == nil {
		return nil, false, nil
	}
	// The container's record first: from here on the entry is the
	// container's, whatever happens below.
	rec := attachment{Network: netName, ContainerID: containerID, CNIID: e.ContainerID, NetNS: netnsPath, IfName: e.IfName, IP: e.IP}
	if err := writeJSONAtomic(m.attachmentPath(netName, containerID), rec); err != nil {
		return nil, false, err
	}
	if err := removeDurably(m.attachmentPath(netName, e.ContainerID)); err != nil {
		return nil, false, fmt.Errorf("take pool entry %s: %w", e.ContainerID, err)
	}
	if err := pinNetNSAt(e.NetNS, netnsPath); err != nil {
		return nil, false, fmt.Errorf("take pool entry %s: %w", e.ContainerID, err)
	}
	// The container's pin holds the namespace now. Should this fail, the
	// container's Detach removes the entry's pin (deletePoolNetNS).
	_ = unpinNetNS(e.NetNS)
	return net.ParseIP(e.IP).To4(), true, nil
}

// pinNetNSAt bind-mounts the namespace pinned at src onto dst.
func pinNetNSAt(src, dst string) error {
	if isNetNS(dst) {
		return fmt.Errorf("%s is already a network namespace", dst)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("create netns mount point: %w", err)
	}
	f.Close()
	if err := unix.Mount(src, dst, "none", unix.MS_BIND, ""); err != nil {
		os.Remove(dst)
		return fmt.Errorf("bind-mount network namespace %s onto %s: %w", src, dst, err)
	}
	return nil
}

// deletePoolNetNS removes the pool pin an attachment owns: a pool entry's
// own namespace, or the entry pin a take left behind.
func (m *Manager) deletePoolNetNS(a attachment) error {
	switch {
	case a.Pooled && a.NetNS == m.NetNSPath(a.ContainerID):
		return unpinNetNS(a.NetNS)
	case a.CNIID != "" && strings.HasPrefix(a.CNIID, m.poolIDPrefix()):
		return unpinNetNS(m.NetNSPath(a.CNIID))
	}
	return nil
}

// ReclaimPool cleans up after a daemon that died (kill -9, reboot) while
// filling or taking from network netName's pool: entries whose ADD never
// finished or whose namespace is gone are detached, entry records a
// container had already claimed are dropped, and pool namespaces no record
// names are unpinned. Ready entries stay and are used again.
func (m *Manager) ReclaimPool(netName string) error {
	if err := validateNetName(netName); err != nil {
		return err
	}
	l, err := m.lock()
	if err != nil {
		return err
	}
	defer l.unlock()
	pl, err := m.lockPool()
	if err != nil {
		return err
	}
	defer pl.unlock()

	atts, err := m.attachments("")
	if err != nil {
		return err
	}
	claimed := map[string]bool{}
	for _, a := range atts {
		if a.CNIID != "" {
			claimed[a.CNIID] = true
		}
	}
	var errs []error
	for _, a := range atts {
		if !a.Pooled || a.Network != netName {
			continue
		}
		switch {
		case claimed[a.ContainerID]:
			// A take died between the container's record and removing
			// the entry's: the entry is the container's.
			errs = append(errs, removeDurably(m.attachmentPath(a.Network, a.ContainerID)))
		case !a.ready():
			errs = append(errs, m.detachLocked(context.Background(), a))
		}
	}
	errs = append(errs, m.unpinOrphansLocked())
	return errors.Join(errs...)
}

// unpinOrphansLocked removes this Manager's pool pins no record names any
// more, and an entry's pin a take left next to the container's own pin.
// Both locks must be held.
func (m *Manager) unpinOrphansLocked() error {
	atts, err := m.attachments("")
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, a := range atts {
		switch {
		case a.Pooled:
			keep[a.NetNS] = true
		case a.CNIID != "" && !isNetNS(a.NetNS):
			// The take died before pinning the container's path: the
			// entry's pin is all that holds the namespace until Detach.
			keep[m.NetNSPath(a.CNIID)] = true
		}
	}
	entries, err := os.ReadDir(filepath.Join(m.runDir, "netns"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	var errs []error
	for _, e := range entries {
		p := filepath.Join(m.runDir, "netns", e.Name())
		if strings.HasPrefix(e.Name(), m.poolIDPrefix()) && !keep[p] {
			errs = append(errs, unpinNetNS(p))
		}
	}
	return errors.Join(errs...)
}
