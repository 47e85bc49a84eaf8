// Package network gives berth stacks their own bridge networks on the
// standard CNI plugins (bridge, host-local, portmap, firewall): network
// namespaces for containers, published ports as kernel DNAT rules (so they
// keep working while the daemon is down) and an embedded DNS server for
// service discovery.
//
// Kernel state a network leaves while it exists, and who removes it:
//   - bridge br-<hash> with the gateway .1 of a /24 from 10.89.0.0/16
//     (bridge plugin; RemoveNetwork deletes it, and with it the
//     net.ipv4.conf.br-<hash>.route_localnet=1 that portmap sets so that
//     DNAT of 127.0.0.1:HOSTPORT may route 127/8 sources to the bridge);
//   - net.ipv4.ip_forward=1, set by the bridge plugin (isGateway); global
//     and deliberately left on, as Docker and podman do;
//   - one veth pair per attachment, hairpin mode on (Detach);
//   - nat: POSTROUTING -> CNI-<hash> masquerade chain per container (bridge
//     ipMasq), CNI-HOSTPORT-DNAT -> CNI-DN-<hash> per container with DNAT
//     and mark rules (portmap), CNI-HOSTPORT-SETMARK/-MASQ masquerading
//     localhost and hairpin connections (portmap snat);
//   - filter: CNI-FORWARD accepts per container address, CNI-ISOLATION-
//     STAGE-1/2 drop traffic between different bridges (firewall plugin,
//     ingressPolicy same-bridge); FORWARD must jump to the isolation chains
//     before CNI-FORWARD, which reconcileIsolation (isolation.go) restores
//     after every ADD, at network creation and removal and when a Manager
//     starts.
//   - filter: two INPUT rules dropping DNS queries to the gateway that do
//     not come from the bridge (EnsureNetwork, dnsguard.go).
//
// Detach and RemoveNetwork run the CNI DEL and then sweep iptables for any
// rule still naming the container, address, subnet or bridge; the shared
// CNI-* chains are removed once empty.
package network

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/containernetworking/cni/libcni"
)

// DefaultPluginDirs is where Debian's containernetworking-plugins package
// installs the plugins, then the upstream default location.
var DefaultPluginDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}

// requiredPlugins are the CNI plugins every berth network's conflist uses.
// The loopback interface is brought up by CreateNetNS itself, so the
// loopback plugin is not needed.
var requiredPlugins = []string{"bridge", "host-local", "portmap", "firewall"}

// cniNamePrefix keeps berth's CNI network names (which end up in iptables
// comments and chain hashes) apart from other CNI users such as podman.
const cniNamePrefix = "berth-"

// Network is one per-stack bridge network.
type Network struct {
	Name    string    `json:"name"`
	Bridge  string    `json:"bridge"`
	Subnet  net.IPNet `json:"-"`
	Gateway net.IP    `json:"gateway"`
	// SubnetCIDR is Subnet's persisted form.
	SubnetCIDR string `json:"subnet"`
}

// CNIName is the network name given to the CNI plugins.
func (n Network) CNIName() string { return cniNamePrefix + n.Name }

// Manager creates and tears down berth networks. All state lives in files
// under stateDir (network records, attachment records, host-local IPAM
// leases, libcni's result cache) so a new Manager after a daemon restart can
// detach containers attached by the previous one.
type Manager struct {
	stateDir   string
	runDir     string
	pluginDirs []string
	cni        *libcni.CNIConfig
	dnsGuarded sync.Map // network name → its DNS rules are in place (dnsguard.go)
}

// NewManager checks that the CNI plugins and iptables are installed and
// prepares the state directories. pluginDirs nil means DefaultPluginDirs.
func NewManager(stateDir, runDir string, pluginDirs []string) (*Manager, error) {
	if stateDir == "" || !filepath.IsAbs(stateDir) {
		return nil, fmt.Errorf("network state directory %q must be an absolute path", stateDir)
	}
	if runDir == "" || !filepath.IsAbs(runDir) {
		return nil, fmt.Errorf("network run directory %q must be an absolute path", runDir)
	}
	if len(pluginDirs) == 0 {
		pluginDirs = DefaultPluginDirs
	}
	for _, p := range requiredPlugins {
		if !pluginExists(pluginDirs, p) {
			return nil, fmt.Errorf("CNI plugin %q not found in %s: apt-get install containernetworking-plugins", p, strings.Join(pluginDirs, ", "))
		}
	}
	// The portmap, bridge (ipMasq) and firewall plugins shell out to
	// iptables; without it they fail in the middle of an ADD.
	for _, bin := range []string{"iptables", "iptables-save"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s not found in PATH (needed by the CNI portmap/bridge/firewall plugins): apt-get install iptables", bin)
		}
	}
	for _, d := range []string{stateDir, filepath.Join(stateDir, "networks"), filepath.Join(stateDir, "attachments"), filepath.Join(stateDir, "ipam"), filepath.Join(stateDir, "cache")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create network state directory: %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(runDir, "netns"), 0o755); err != nil {
		return nil, fmt.Errorf("create netns directory: %w", err)
	}
	m := &Manager{
		stateDir:   stateDir,
		runDir:     runDir,
		pluginDirs: pluginDirs,
		cni:        libcni.NewCNIConfigWithCacheDir(pluginDirs, filepath.Join(stateDir, "cache"), nil),
	}
	// Whatever a previous daemon, a killed run or another CNI user left,
	// networks are isolated from here on (isolation.go).
	l, err := m.lock()
	if err != nil {
		return nil, err
	}
	defer l.unlock()
	if err := reconcileIsolation(); err != nil {
		return nil, err
	}
	return m, nil
}

func pluginExists(dirs []string, name string) bool {
	for _, d := range dirs {
		if st, err := os.Stat(filepath.Join(d, name)); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return true
		}
	}
	return false
}

// Names: a network name becomes a DNS domain, a CNI network name and a file
// name, so it is kept to a conservative alphabet. Container IDs become file
// names, CNI container IDs and iptables comments.
var (
	netNameRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$`)
	idRe      = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)
)

func validateNetName(name string) error {
	if !netNameRe.MatchString(name) || strings.Contains(name, "..") {
		return fmt.Errorf("invalid network name %q: use 1-63 letters, digits, '_', '.', '-', starting with a letter or digit", name)
	}
	return nil
}

func validateID(kind, id string) error {
	if !idRe.MatchString(id) || strings.Contains(id, "..") {
		return fmt.Errorf("invalid %s %q: use 1-128 letters, digits, '_', '.', '-', starting with a letter or digit", kind, id)
	}
	return nil
}

// hostLockPath serialises changes to the host's shared CNI iptables chains
// (CNI-FORWARD, CNI-ISOLATION-*, CNI-HOSTPORT-*) between every berth
// network manager on the host — several daemons, tests — since one
// manager's sweep of an emptied shared chain must not race another's ADD.
const hostLockPath = "/run/berth-cni.lock"

// lock takes the host-wide lock, then the state directory's.
func (m *Manager) lock() (*fileLock, error) {
	host, err := lockFile(hostLockPath)
	if err != nil {
		return nil, err
	}
	own, err := lockFile(filepath.Join(m.stateDir, "lock"))
	if err != nil {
		host.unlock()
		return nil, err
	}
	own.also = host
	return own, nil
}

func (m *Manager) networkPath(name string) string {
	return filepath.Join(m.stateDir, "networks", name+".json")
}

// bridgeName derives a stable interface name (at most IFNAMSIZ-1 = 15
// bytes) from the state directory and network name, so two berth roots on
// one host never fight over a bridge.
func (m *Manager) bridgeName(name string) string {
	sum := sha256.Sum256([]byte(m.stateDir + "\x00" + name))
	return "br-" + hex.EncodeToString(sum[:])[:12]
}

// loadNetwork reads a network record; os.ErrNotExist if there is none.
func (m *Manager) loadNetwork(name string) (Network, error) {
	var n Network
	if err := readJSON(m.networkPath(name), &n); err != nil {
		return Network{}, err
	}
	_, subnet, err := net.ParseCIDR(n.SubnetCIDR)
	if err != nil {
		return Network{}, fmt.Errorf("corrupt network record %s: subnet %q: %w", m.networkPath(name), n.SubnetCIDR, err)
	}
	n.Subnet = *subnet
	n.Gateway = n.Gateway.To4()
	if n.Gateway == nil || n.Name != name || n.Bridge == "" {
		return Network{}, fmt.Errorf("corrupt network record %s", m.networkPath(name))
	}
	return n, nil
}

// Networks lists the networks this Manager's state directory knows about.
func (m *Manager) Networks() ([]Network, error) {
	entries, err := os.ReadDir(filepath.Join(m.stateDir, "networks"))
	if err != nil {
		return nil, err
	}
	var out []Network
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		n, err := m.loadNetwork(name)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Network returns the record of an existing network.
func (m *Manager) Network(name string) (Network, error) {
	if err := validateNetName(name); err != nil {
		return Network{}, err
	}
	n, err := m.loadNetwork(name)
	if errors.Is(err, os.ErrNotExist) {
		return Network{}, fmt.Errorf("network %q does not exist", name)
	}
	return n, err
}

// EnsureNetwork returns the network called name, allocating a free /24 from
// 10.89.0.0/16 and persisting it the first time. The bridge itself is
// created by the CNI bridge plugin on the first Attach.
func (m *Manager) EnsureNetwork(name string) (Network, error) {
	if err := validateNetName(name); err != nil {
		return Network{}, err
	}
	// An existing network is read without the lock: its record is
	// replaced atomically, and the lock may be held for a whole CNI ADD
	// by a pool refill, which a container start must not queue behind.
	if n, err := m.loadNetwork(name); err == nil {
		return n, m.guardDNS(n)
	}
	l, err := m.lock()
	if err != nil {
		return Network{}, err
	}
	defer l.unlock()

	if n, err := m.loadNetwork(name); err == nil {
		return n, m.guardDNS(n)
	} else if !errors.Is(err, os.ErrNotExist) {
		return Network{}, err
	}

	existing, err := m.Networks()
	if err != nil {
		return Network{}, err
	}
	var used []*net.IPNet
	for i := range existing {
		used = append(used, &existing[i].Subnet)
	}
	hostNets, err := hostNetworks()
	if err != nil {
		return Network{}, err
	}
	used = append(used, hostNets...)
	subnet, err := allocateSubnet(used)
	if err != nil {
		return Network{}, err
	}
	gw := make(net.IP, 4)
	copy(gw, subnet.IP.To4())
	gw[3] = 1
	n := Network{
		Name:       name,
		Bridge:     m.bridgeName(name),
		Subnet:     *subnet,
		Gateway:    gw,
		SubnetCIDR: subnet.String(),
	}
	if err := writeJSONAtomic(m.networkPath(name), n); err != nil {
		return Network{}, fmt.Errorf("save network %q: %w", name, err)
	}
	// Drops isolation rules of bridges deleted outside CNI, whose
	// name or subnet the new network may reuse.
	if err := reconcileIsolation(); err != nil {
		return Network{}, err
	}
	return n, m.guardDNS(n)
}

// RemoveNetwork detaches whatever is still attached, deletes the bridge
// (which also drops the route_localnet sysctl portmap set on it), removes
// any iptables rules that mention the network and deletes its state.
// Removing a network that does not exist is not an error.
func (m *Manager) RemoveNetwork(name string) error {
	if err := validateNetName(name); err != nil {
		return err
	}
	l, err := m.lock()
	if err != nil {
		return err
	}
	defer l.unlock()
	// No take may move a pool entry while the network goes.
	pl, err := m.lockPool()
	if err != nil {
		return err
	}
	defer pl.unlock()

	n, err := m.loadNetwork(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	// Pool entries are attachments too: detaching them also unpins their
	// namespaces.
	atts, err := m.attachments(name)
	if err != nil {
		errs = append(errs, err)
	}
	for _, a := range atts {
		if err := m.detachLocked(context.Background(), a); err != nil {
			errs = append(errs, err)
		}
	}
	// Veths whose container namespace is still pinned somewhere (a copy of
	// the netns mount in another mount namespace) would outlive the
	// bridge; deleting the host end removes the pair.
	if ports, err := os.ReadDir(filepath.Join("/sys/class/net", n.Bridge, "brif")); err == nil {
		for _, p := range ports {
			if err := deleteLink(p.Name()); err != nil {
				errs = append(errs, fmt.Errorf("delete %s on bridge %s: %w", p.Name(), n.Bridge, err))
			}
		}
	}
	if err := deleteLink(n.Bridge); err != nil {
		errs = append(errs, fmt.Errorf("delete bridge %s: %w", n.Bridge, err))
	}
	// The sweep takes the DNS guard rules too (they name bridge and gateway).
	m.dnsGuarded.Delete(name)
	if err := sweepIPTables(ruleMatcher{subnet: &n.Subnet, iface: n.Bridge, cniName: n.CNIName()}); err != nil {
		errs = append(errs, err)
	}
	// Stale isolation rules would keep the isolation chains alive.
	if err := reconcileIsolation(); err != nil {
		errs = append(errs, err)
	}
	if err := removeSharedChainsIfUnused(); err != nil {
		errs = append(errs, err)
	}
	if err := m.unpinOrphansLocked(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		// Keep the record so a retry can finish the job.
		return fmt.Errorf("remove network %q: %w", name, errors.Join(errs...))
	}
	if err := os.RemoveAll(filepath.Join(m.stateDir, "ipam", n.CNIName())); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(m.stateDir, "attachments", name)); err != nil {
		return err
	}
	return removeDurably(m.networkPath(name))
}
