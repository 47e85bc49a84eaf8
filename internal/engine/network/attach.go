package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
)

// cniVersion is the newest spec version Debian 12's plugins (1.1.1) speak.
const cniVersion = "1.0.0"

// attachment records one container's membership of one network. It is
// written before the CNI ADD (as an intent) so that a crash half-way still
// leaves enough behind for Detach to undo it.
type attachment struct {
	Network     string        `json:"network"`
	ContainerID string        `json:"containerID"`
	NetNS       string        `json:"netns"`
	IfName      string        `json:"ifName"`
	Ports       []PortMapping `json:"ports,omitempty"`
	IP          string        `json:"ip,omitempty"` // empty until the ADD succeeded
	// CNIID is the container ID the CNI ADD ran under when it differs
	// from ContainerID: a namespace taken from the network's pool was
	// attached under its pool entry's ID, and DEL (leases, iptables
	// comments, libcni's cache) must use that ID.
	CNIID string `json:"cniID,omitempty"`
	// Pooled marks a pool entry (ContainerID is the entry's ID): a
	// pre-attached namespace waiting for a container, which owns its
	// namespace (pinned at NetNS) and removes it on detach.
	Pooled bool `json:"pooled,omitempty"`
}

// cniID is the container ID the plugins know this attachment by.
func (a attachment) cniID() string {
	if a.CNIID != "" {
		return a.CNIID
	}
	return a.ContainerID
}

func (m *Manager) attachmentPath(netName, containerID string) string {
	return filepath.Join(m.stateDir, "attachments", netName, containerID+".json")
}

// attachments lists the records of one network, or of all networks when
// netName is "".
func (m *Manager) attachments(netName string) ([]attachment, error) {
	pattern := filepath.Join(m.stateDir, "attachments", "*", "*.json")
	if netName != "" {
		pattern = filepath.Join(m.stateDir, "attachments", netName, "*.json")
	}
	files, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	out := make([]attachment, 0, len(files))
	for _, f := range files {
		var a attachment
		if err := readJSON(f, &a); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// confList renders the CNI configuration of network n for one interface.
// Only a container's first interface (eth0) gets the default route, so a
// container on several networks has one unambiguous way out. The portmap
// plugin is only in the list when the attachment publishes ports: without
// any it does nothing but cost a plugin exec on every ADD and DEL.
func (m *Manager) confList(n Network, ifName string, withPorts bool) (*libcni.NetworkConfigList, error) {
	ipam := map[string]any{
		"type":    "host-local",
		"dataDir": filepath.Join(m.stateDir, "ipam"),
		"ranges": [][]map[string]string{{{
			"subnet":  n.Subnet.String(),
			"gateway": n.Gateway.String(),
		}}},
	}
	if ifName == "eth0" {
		ipam["routes"] = []map[string]string{{"dst": "0.0.0.0/0"}}
	}
	conf := map[string]any{
		"cniVersion": cniVersion,
		"name":       n.CNIName(),
		"plugins": []map[string]any{
			{
				"type":      "bridge",
				"bridge":    n.Bridge,
				"isGateway": true, // gateway address on the bridge; also turns on net.ipv4.ip_forward
				"ipMasq":    true, // containers reach the outside world through the host's address
				// Lets a container reach its own published port through
				// the host (hairpin through the bridge port it came from).
				"hairpinMode": true,
				"ipam":        ipam,
			},
			{
				"type":    "firewall",
				"backend": "iptables",
				// Containers of different berth networks cannot talk to
				// each other (Docker's inter-network isolation).
				"ingressPolicy": "same-bridge",
			},
		},
	}
	if withPorts {
		plugins := conf["plugins"].([]map[string]any)
		// Before the firewall, as CNI's own examples order them.
		conf["plugins"] = []map[string]any{plugins[0], {
			"type":         "portmap",
			"capabilities": map[string]bool{"portMappings": true},
			// snat makes portmap masquerade localhost and hairpin
			// traffic and set route_localnet=1 on the bridge, which
			// is what makes 127.0.0.1:HOSTPORT work.
			"snat": true,
		}, plugins[1]}
	}
	data, err := json.Marshal(conf)
	if err != nil {
		return nil, err
	}
	return libcni.NetworkConfFromBytes(data)
}

func (m *Manager) runtimeConf(a attachment) *libcni.RuntimeConf {
	netns := a.NetNS
	if !isNetNS(netns) {
		// The namespace is gone (container removed, host rebooted): the
		// plugins still release IPs and iptables state without one.
		netns = ""
	}
	rt := &libcni.RuntimeConf{ContainerID: a.cniID(), NetNS: netns, IfName: a.IfName}
	if len(a.Ports) > 0 {
		rt.CapabilityArgs = map[string]any{"portMappings": a.Ports}
	}
	return rt
}

// Attach connects the network namespace at netnsPath to network netName and
// publishes ports on the host. It returns the container's address. On any
// failure everything set up so far is undone.
func (m *Manager) Attach(ctx context.Context, netName, containerID, netnsPath string, ports []PortMapping) (net.IP, error) {
	if err := validateNetName(netName); err != nil {
		return nil, err
	}
	if err := validateID("container id", containerID); err != nil {
		return nil, err
	}
	if !isNetNS(netnsPath) {
		return nil, fmt.Errorf("attach %s to network %q: %q is not a network namespace", containerID, netName, netnsPath)
	}
	ports, err := normalizePorts(ports)
	if err != nil {
		return nil, fmt.Errorf("attach %s to network %q: %w", containerID, netName, err)
	}

	l, err := m.lock()
	if err != nil {
		return nil, err
	}
	defer l.unlock()

	n, err := m.loadNetwork(netName)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("attach %s: network %q does not exist", containerID, netName)
	}
	if err != nil {
		return nil, err
	}

	all, err := m.attachments("")
	if err != nil {
		return nil, err
	}
	usedIf := map[string]bool{}
	for _, a := range all {
		if a.ContainerID != containerID {
			continue
		}
		if a.Network == netName {
			// A leftover from a crash or a repeated Attach: start clean.
			if err := m.detachLocked(ctx, a); err != nil {
				return nil, fmt.Errorf("attach %s to network %q: clean up previous attachment: %w", containerID, netName, err)
			}
			continue
		}
		usedIf[a.IfName] = true
	}
	for _, p := range ports {
		for _, a := range all {
			if a.ContainerID == containerID {
				continue
			}
			for _, q := range a.Ports {
				if portsConflict(p, q) {
					return nil, fmt.Errorf("host port %s is already published by container %s", p, a.ContainerID)
				}
			}
		}
		if err := checkHostPortFree(p); err != nil {
			return nil, err
		}
	}
	ifName := ""
	for i := 0; ; i++ {
		if name := fmt.Sprintf("eth%d", i); !usedIf[name] {
			ifName = name
			break
		}
	}

	a := attachment{Network: netName, ContainerID: containerID, NetNS: netnsPath, IfName: ifName, Ports: ports}
	if err := writeJSONAtomic(m.attachmentPath(netName, containerID), a); err != nil {
		return nil, err
	}
	list, err := m.confList(n, ifName, len(ports) > 0)
	if err != nil {
		return nil, err
	}
	res, err := m.cni.AddNetworkList(ctx, list, m.runtimeConf(a))
	if err != nil {
		addErr := fmt.Errorf("attach %s to network %q: %w", containerID, netName, err)
		if derr := m.detachLocked(context.WithoutCancel(ctx), a); derr != nil {
			return nil, errors.Join(addErr, fmt.Errorf("undo failed attach: %w", derr))
		}
		return nil, addErr
	}
	// The ADD may have put CNI-FORWARD's jump in front of the isolation
	// chains (isolation.go); the container must not run before that is
	// undone.
	err = reconcileIsolation()
	var ip net.IP
	if err == nil {
		ip, err = resultIPv4(res, &n.Subnet)
	}
	if err == nil {
		a.IP = ip.String()
		err = writeJSONAtomic(m.attachmentPath(netName, containerID), a)
	}
	if err != nil {
		addErr := fmt.Errorf("attach %s to network %q: %w", containerID, netName, err)
		if derr := m.detachLocked(context.WithoutCancel(ctx), a); derr != nil {
			return nil, errors.Join(addErr, fmt.Errorf("undo failed attach: %w", derr))
		}
		return nil, addErr
	}
	return ip, nil
}

// resultIPv4 picks the container's address in subnet out of a CNI result.
func resultIPv4(res types.Result, subnet *net.IPNet) (net.IP, error) {
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return nil, fmt.Errorf("read CNI result: %w", err)
	}
	for _, ipc := range r.IPs {
		if ip := ipc.Address.IP.To4(); ip != nil && subnet.Contains(ip) {
			return ip, nil
		}
	}
	return nil, fmt.Errorf("CNI result has no address in %s", subnet)
}

// Detach undoes Attach: removes the veth, releases the IP, deletes the
// port-forwarding and firewall rules. It is idempotent and works from a new
// Manager after a daemon restart, even if the namespace is already gone.
// ports is only used when no attachment record exists (state lost).
func (m *Manager) Detach(ctx context.Context, netName, containerID, netnsPath string, ports []PortMapping) error {
	if err := validateNetName(netName); err != nil {
		return err
	}
	if err := validateID("container id", containerID); err != nil {
		return err
	}
	l, err := m.lock()
	if err != nil {
		return err
	}
	defer l.unlock()

	var a attachment
	err = readJSON(m.attachmentPath(netName, containerID), &a)
	if errors.Is(err, os.ErrNotExist) {
		if _, nerr := m.loadNetwork(netName); errors.Is(nerr, os.ErrNotExist) {
			return nil // nothing of this network is left
		}
		norm, perr := normalizePorts(ports)
		if perr != nil {
			norm = nil
		}
		a = attachment{Network: netName, ContainerID: containerID, NetNS: netnsPath, IfName: "eth0", Ports: norm}
	} else if err != nil {
		return err
	}
	return m.detachLocked(ctx, a)
}

// detachLocked runs the CNI DEL for a and then sweeps iptables for anything
// the plugins leave behind when the namespace is already gone (the bridge
// plugin only removes its masquerade chain if it still finds the veth).
func (m *Manager) detachLocked(ctx context.Context, a attachment) error {
	n, err := m.loadNetwork(a.Network)
	if errors.Is(err, os.ErrNotExist) {
		if err := sweepIPTables(ruleMatcher{cniName: cniNamePrefix + a.Network, containerID: a.cniID()}); err != nil {
			return err
		}
		if err := m.deletePoolNetNS(a); err != nil {
			return err
		}
		return removeDurably(m.attachmentPath(a.Network, a.ContainerID))
	}
	if err != nil {
		return err
	}
	// The IP is needed to find firewall rules; when the ADD failed before
	// it was recorded, host-local's lease files still know it.
	id := a.cniID()
	var ips []net.IP
	if ip := net.ParseIP(a.IP); ip != nil {
		ips = append(ips, ip)
	} else {
		ips = m.leasedIPs(n, id)
	}
	list, err := m.confList(n, a.IfName, len(a.Ports) > 0)
	if err != nil {
		return err
	}
	// A plugin's DEL can fail on state that is already gone (the bridge
	// plugin errors when a masquerade chain another process removed does
	// not exist). DEL must be idempotent, so such an error does not stop
	// the cleanup below, which removes every rule and lease of the
	// container itself; other errors are reported after it.
	var delErr error
	if err := m.cni.DelNetworkList(ctx, list, m.runtimeConf(a)); err != nil && !alreadyGone(err) {
		delErr = fmt.Errorf("detach %s from network %q: %w", a.ContainerID, a.Network, err)
	}
	m.releaseLeases(n, id)
	match := ruleMatcher{cniName: n.CNIName(), containerID: id}
	for _, ip := range ips {
		// Only if no other container holds the address by now.
		if owner := m.leaseOwner(n, ip); owner == "" || owner == id {
			match.ips = append(match.ips, ip)
		}
	}
	if err := sweepIPTables(match); err != nil {
		return fmt.Errorf("detach %s from network %q: %w", a.ContainerID, a.Network, err)
	}
	if delErr != nil {
		return delErr
	}
	if err := m.deletePoolNetNS(a); err != nil {
		return fmt.Errorf("detach %s from network %q: %w", a.ContainerID, a.Network, err)
	}
	return removeDurably(m.attachmentPath(a.Network, a.ContainerID))
}

// alreadyGone reports whether a CNI DEL error only says that something to
// delete does not exist any more.
func alreadyGone(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "does not exist") || strings.Contains(msg, "No such file or directory") ||
		strings.Contains(msg, "not found")
}

// releaseLeases removes host-local's lease files of containerID (what the
// IPAM plugin's DEL does), for when a DEL failed before reaching it.
func (m *Manager) releaseLeases(n Network, containerID string) {
	entries, err := os.ReadDir(m.leaseDir(n))
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(m.leaseDir(n), e.Name())
		if data, err := os.ReadFile(p); err == nil && strings.HasPrefix(string(data), containerID) {
			os.Remove(p)
		}
	}
}

// host-local keeps one file per leased address, named after the address
// and starting with the container ID.
func (m *Manager) leaseDir(n Network) string {
	return filepath.Join(m.stateDir, "ipam", n.CNIName())
}

func (m *Manager) leaseOwner(n Network, ip net.IP) string {
	data, err := os.ReadFile(filepath.Join(m.leaseDir(n), ip.String()))
	if err != nil {
		return ""
	}
	owner, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
	return strings.TrimSpace(owner)
}

func (m *Manager) leasedIPs(n Network, containerID string) []net.IP {
	entries, err := os.ReadDir(m.leaseDir(n))
	if err != nil {
		return nil
	}
	var out []net.IP
	for _, e := range entries {
		ip := net.ParseIP(e.Name())
		if ip == nil {
			continue
		}
		if m.leaseOwner(n, ip) == containerID {
			out = append(out, ip)
		}
	}
	return out
}
