package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestAllocateSubnet(t *testing.T) {
	cidrs := func(ss ...string) []*net.IPNet {
		var out []*net.IPNet
		for _, s := range ss {
			_, n, err := net.ParseCIDR(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	for _, tc := range []struct {
		used []*net.IPNet
		want string
	}{
		{nil, "10.89.0.0/24"},
		{cidrs("10.89.0.0/24", "10.89.1.128/25", "192.168.0.0/16"), "10.89.2.0/24"},
		{cidrs("10.89.0.0/23", "10.89.3.7/32"), "10.89.2.0/24"},
	} {
		got, err := allocateSubnet(tc.used)
		if err != nil || got.String() != tc.want {
			t.Errorf("allocateSubnet(%v) = %v, %v; want %s", tc.used, got, err, tc.want)
		}
	}
	if _, err := allocateSubnet(cidrs("10.0.0.0/8")); err == nil || !strings.Contains(err.Error(), "no free /24") {
		t.Errorf("full pool: got %v", err)
	}
}

func TestParseRouteTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "route")
	content := "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
		"eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
		"tun0\t0000590A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	routes, err := parseRouteTable(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range routes {
		got = append(got, r.String())
	}
	if strings.Join(got, ",") != "192.0.2.0/24,10.89.0.0/16" {
		t.Fatalf("routes = %v (default route must be skipped)", got)
	}
}

func TestSplitRule(t *testing.T) {
	line := `-A POSTROUTING -s 10.89.0.2/32 -m comment --comment "name: \"berth-x\" id: \"c1\"" -j CNI-abc`
	toks, err := splitRule(line)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-A", "POSTROUTING", "-s", "10.89.0.2/32", "-m", "comment", "--comment", `name: "berth-x" id: "c1"`, "-j", "CNI-abc"}
	if fmt.Sprintf("%q", toks) != fmt.Sprintf("%q", want) {
		t.Fatalf("tokens = %q, want %q", toks, want)
	}
	r := iptRule{chain: toks[1], args: toks[2:]}
	if !(ruleMatcher{cniName: "berth-x", containerID: "c1"}).match(r) {
		t.Error("comment match failed")
	}
	if (ruleMatcher{cniName: "berth-x", containerID: "c10"}).match(r) || (ruleMatcher{cniName: "berth-"}).match(r) {
		t.Error("comment matched another container/network")
	}
	if !(ruleMatcher{ips: []net.IP{net.ParseIP("10.89.0.2")}}).match(r) {
		t.Error("ip match failed")
	}
	if _, err := splitRule(`-A X --comment "open`); err == nil {
		t.Error("unterminated quote accepted")
	}
}

func TestPortValidation(t *testing.T) {
	for _, tc := range []struct {
		p    []PortMapping
		want string
	}{
		{[]PortMapping{{HostPort: 0, ContainerPort: 80}}, "host port 0 out of range"},
		{[]PortMapping{{HostPort: 80, ContainerPort: 70000}}, "container port 70000"},
		{[]PortMapping{{HostPort: 80, ContainerPort: 80, Protocol: "sctp"}}, `protocol "sctp"`},
		{[]PortMapping{{HostIP: "::1", HostPort: 80, ContainerPort: 80}}, "not an IPv4 address"},
		{[]PortMapping{{HostPort: 80, ContainerPort: 80}, {HostIP: "127.0.0.1", HostPort: 80, ContainerPort: 81}}, "published twice"},
	} {
		if _, err := normalizePorts(tc.p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("normalizePorts(%+v) = %v, want error containing %q", tc.p, err, tc.want)
		}
	}
	got, err := normalizePorts([]PortMapping{{HostIP: "0.0.0.0", HostPort: 53, ContainerPort: 53, Protocol: "UDP"}, {HostPort: 53, ContainerPort: 53}})
	if err != nil || got[0].HostIP != "" || got[0].Protocol != "udp" || got[1].Protocol != "tcp" {
		t.Fatalf("normalizePorts = %+v, %v", got, err)
	}
}

func TestNewManagerMissingPlugin(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"bridge", "host-local", "firewall"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_, err := NewManager(t.TempDir(), t.TempDir(), []string{dir})
	want := fmt.Sprintf(`CNI plugin "portmap" not found in %s: apt-get install containernetworking-plugins`, dir)
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if _, err := NewManager("relative", t.TempDir(), nil); err == nil {
		t.Fatal("relative state dir accepted")
	}
}

func TestEnsureNetworkPersistsAndAvoidsCollisions(t *testing.T) {
	requireRoot(t)
	state := t.TempDir()
	m, err := NewManager(state, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.EnsureNetwork("alpha")
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.EnsureNetwork("beta")
	if err != nil {
		t.Fatal(err)
	}
	if a.Subnet.String() == b.Subnet.String() || a.Bridge == b.Bridge {
		t.Fatalf("networks collide: %+v %+v", a, b)
	}
	if len(a.Bridge) > 15 || !strings.HasPrefix(a.Bridge, "br-") {
		t.Fatalf("bridge name %q", a.Bridge)
	}
	if !a.Subnet.Contains(a.Gateway) || a.Gateway[3] != 1 {
		t.Fatalf("gateway %s not .1 of %s", a.Gateway, &a.Subnet)
	}
	// Host routes must be avoided.
	hostNets, err := hostNetworks()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hostNets {
		if h.Contains(a.Gateway) && !strings.HasPrefix(h.String(), a.Subnet.String()) {
			t.Fatalf("subnet %s collides with host network %s", &a.Subnet, h)
		}
	}

	m2, err := NewManager(state, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := m2.EnsureNetwork("alpha")
	if err != nil {
		t.Fatal(err)
	}
	if a2.Subnet.String() != a.Subnet.String() || a2.Bridge != a.Bridge || !a2.Gateway.Equal(a.Gateway) {
		t.Fatalf("after restart %+v, before %+v", a2, a)
	}
	if err := m2.RemoveNetwork("alpha"); err != nil {
		t.Fatal(err)
	}
	if err := m2.RemoveNetwork("alpha"); err != nil {
		t.Fatalf("second remove: %v", err)
	}
	if err := m2.RemoveNetwork("beta"); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Network("alpha"); err == nil {
		t.Fatal("alpha still exists")
	}
	if _, err := m.EnsureNetwork("../etc"); err == nil {
		t.Fatal("bad network name accepted")
	}
}

func TestNetNSLifecycle(t *testing.T) {
	m := newTestManager(t)
	id := uniqueName(t, "ns")
	path, err := m.CreateNetNS(id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.DeleteNetNS(id) })
	if !isNetNS(path) {
		t.Fatalf("%s is not a network namespace", path)
	}
	again, err := m.CreateNetNS(id)
	if err != nil || again != path {
		t.Fatalf("second CreateNetNS = %q, %v", again, err)
	}
	var ifaces []net.Interface
	if err := inNetNS(path, func() error {
		var err error
		ifaces, err = net.Interfaces()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(ifaces) != 1 || ifaces[0].Name != "lo" || ifaces[0].Flags&net.FlagUp == 0 {
		t.Fatalf("namespace interfaces = %+v, want only lo, up", ifaces)
	}
	if err := m.DeleteNetNS(id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("netns file still there: %v", err)
	}
	if err := m.DeleteNetNS(id); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := m.CreateNetNS("../x"); err == nil {
		t.Fatal("bad id accepted")
	}
}

// assertNoTraces checks that nothing of a network is left in the kernel.
var otherNetworkRE = regexp.MustCompile(`br-[0-9a-f]{12}|"berth-[a-z0-9_-]+"|DNS of berth-[a-z0-9_-]+`)

// namesOtherNetwork reports whether an iptables rule names a bridge or a
// network that is not n.
func namesOtherNetwork(line string, n Network) bool {
	for _, m := range otherNetworkRE.FindAllString(line, -1) {
		if m != n.Bridge && m != `"`+n.CNIName()+`"` && m != "DNS of "+n.CNIName() {
			return true
		}
	}
	return false
}

func assertNoTraces(t *testing.T, n Network, vethsBefore map[string]bool) {
	t.Helper()
	eventually(t, "veths removed", func() error {
		for v := range vethNames(t) {
			if !vethsBefore[v] {
				return fmt.Errorf("leftover veth %s", v)
			}
		}
		return nil
	})
	if strings.Contains(links(t), n.Bridge) {
		t.Errorf("bridge %s still exists", n.Bridge)
	}
	prefix := strings.TrimSuffix(n.Subnet.IP.String(), "0") // "10.89.X."
	for _, line := range strings.Split(iptablesSave(t), "\n") {
		// A rule naming another network's bridge or name belongs to that
		// network (another test's daemon, or one a killed run left with a
		// subnet this test reused), not to n.
		if !strings.Contains(line, n.Bridge) && !strings.Contains(line, n.CNIName()) && namesOtherNetwork(line, n) {
			continue
		}
		if strings.Contains(line, prefix) || strings.Contains(line, n.Bridge) || strings.Contains(line, n.CNIName()) {
			t.Errorf("leftover iptables rule: %s", line)
		}
	}
}

func TestAttachReachabilityPortsAndCleanup(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	vethsBefore := vethNames(t)
	name := uniqueName(t, "net")
	n, err := m.EnsureNetwork(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.RemoveNetwork(name) })
	idA, idB := name+"-a", name+"-b"
	nsA, err := m.CreateNetNS(idA)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.DeleteNetNS(idA) })
	nsB, err := m.CreateNetNS(idB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.DeleteNetNS(idB) })

	hostPort, anyPort, unpublished := freePort(t), freePort(t), freePort(t)
	ipA, err := m.Attach(ctx, name, idA, nsA, []PortMapping{
		{HostIP: "127.0.0.1", HostPort: hostPort, ContainerPort: 80},
		{HostPort: anyPort, ContainerPort: 8081},
	})
	if err != nil {
		t.Fatal(err)
	}
	ipB, err := m.Attach(ctx, name, idB, nsB, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !n.Subnet.Contains(ipA) || !n.Subnet.Contains(ipB) || ipA.Equal(ipB) {
		t.Fatalf("addresses %s %s not distinct in %s", ipA, ipB, &n.Subnet)
	}

	listenInNetNS(t, nsA, ":80", "hello from a")
	listenInNetNS(t, nsA, fmt.Sprintf(":%d", unpublished), "secret")

	t.Run("container to container by IP", func(t *testing.T) {
		eventually(t, "dial a from b", func() error {
			got, err := readFrom(nsB, net.JoinHostPort(ipA.String(), "80"))
			if err == nil && got != "hello from a" {
				err = fmt.Errorf("got %q", got)
			}
			return err
		})
	})

	t.Run("published port on 127.0.0.1", func(t *testing.T) {
		eventually(t, "dial published port", func() error {
			got, err := readFrom("", fmt.Sprintf("127.0.0.1:%d", hostPort))
			if err == nil && got != "hello from a" {
				err = fmt.Errorf("got %q", got)
			}
			return err
		})
	})

	t.Run("published port served by a separate process", func(t *testing.T) {
		// The forwarding is kernel DNAT state: neither the Manager nor any
		// Go code is on the path. The server is busybox httpd in the
		// namespace, the client a plain HTTP request to 127.0.0.1.
		busybox, err := exec.LookPath("busybox")
		if err != nil {
			t.Skip("busybox not installed")
		}
		www := t.TempDir()
		if err := os.WriteFile(filepath.Join(www, "index.html"), []byte("served by httpd"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("nsenter", "--net="+nsA, busybox, "httpd", "-f", "-p", "8081", "-h", www)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if !strings.Contains(iptablesSave(t), fmt.Sprintf("--to-destination %s:8081", ipA)) {
			t.Fatal("no DNAT rule for the published port in the kernel")
		}
		client := &http.Client{Timeout: 3 * time.Second}
		eventually(t, "GET published port", func() error {
			resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/index.html", anyPort))
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != "served by httpd" {
				return fmt.Errorf("status %s body %q", resp.Status, body)
			}
			return nil
		})
	})

	t.Run("unpublished port unreachable from host", func(t *testing.T) {
		if got, err := readFrom("", fmt.Sprintf("127.0.0.1:%d", unpublished)); err == nil {
			t.Fatalf("unpublished port answered %q", got)
		}
		// ... though it is there for the other container.
		if got, err := readFrom(nsB, net.JoinHostPort(ipA.String(), fmt.Sprint(unpublished))); err != nil || got != "secret" {
			t.Fatalf("from b: %q %v", got, err)
		}
	})

	t.Run("port already published by another container", func(t *testing.T) {
		idC := name + "-c"
		nsC, err := m.CreateNetNS(idC)
		if err != nil {
			t.Fatal(err)
		}
		defer m.DeleteNetNS(idC)
		_, err = m.Attach(ctx, name, idC, nsC, []PortMapping{{HostPort: hostPort, ContainerPort: 80}})
		want := fmt.Sprintf("host port 0.0.0.0:%d/tcp is already published by container %s", hostPort, idA)
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v, want %q", err, want)
		}
	})

	// A new Manager (daemon restart) detaches what the old one attached.
	m2, err := NewManager(m.stateDir, m.runDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{idA, idB} {
		if err := m2.Detach(ctx, name, id, m2.NetNSPath(id), nil); err != nil {
			t.Fatal(err)
		}
		if err := m2.Detach(ctx, name, id, m2.NetNSPath(id), nil); err != nil {
			t.Fatalf("second detach: %v", err)
		}
	}
	if _, err := readFrom("", fmt.Sprintf("127.0.0.1:%d", hostPort)); err == nil {
		t.Error("published port still answers after Detach")
	}
	save := iptablesSave(t)
	for _, ip := range []net.IP{ipA, ipB} {
		if strings.Contains(save, ip.String()+"/") || strings.Contains(save, ip.String()+":") {
			t.Errorf("rules for %s left after Detach:\n%s", ip, save)
		}
	}
	if err := m2.RemoveNetwork(name); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{idA, idB} {
		if err := m2.DeleteNetNS(id); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(m2.NetNSPath(id)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("netns file of %s left", id)
		}
	}
	assertNoTraces(t, n, vethsBefore)
}

func TestAttachPortInUseLeavesNothing(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	vethsBefore := vethNames(t)
	name := uniqueName(t, "busy")
	n, err := m.EnsureNetwork(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.RemoveNetwork(name) })
	id := name + "-x"
	ns, err := m.CreateNetNS(id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.DeleteNetNS(id) })

	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = m.Attach(ctx, name, id, ns, []PortMapping{{HostIP: "127.0.0.1", HostPort: port, ContainerPort: 80}})
	want := fmt.Sprintf("host port 127.0.0.1:%d/tcp is already in use by another process", port)
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if atts, _ := m.attachments(""); len(atts) != 0 {
		t.Errorf("attachment records left: %+v", atts)
	}
	if leases := m.leasedIPs(n, id); len(leases) != 0 {
		t.Errorf("IP leases left: %v", leases)
	}
	for v := range vethNames(t) {
		if !vethsBefore[v] {
			t.Errorf("veth %s created", v)
		}
	}
	// The network's own rules (its DNS guard, made by EnsureNetwork) aside.
	for _, line := range strings.Split(iptablesSave(t), "\n") {
		if strings.Contains(line, strings.TrimSuffix(n.Subnet.IP.String(), "0")) && !strings.Contains(line, "berth: DNS of") {
			t.Errorf("iptables rule for the subnet created: %s", line)
		}
	}

	// A wildcard publish conflicts with the 127.0.0.1 listener too.
	_, err = m.Attach(ctx, name, id, ns, []PortMapping{{HostPort: port, ContainerPort: 80}})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("0.0.0.0:%d/tcp is already in use", port)) {
		t.Fatalf("wildcard publish: %v", err)
	}

	if err := m.RemoveNetwork(name); err != nil {
		t.Fatal(err)
	}
	assertNoTraces(t, n, vethsBefore)
}

func TestDetachAfterNamespaceGone(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	vethsBefore := vethNames(t)
	name := uniqueName(t, "gone")
	n, err := m.EnsureNetwork(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.RemoveNetwork(name) })
	id := name + "-x"
	ns, err := m.CreateNetNS(id)
	if err != nil {
		t.Fatal(err)
	}
	ip, err := m.Attach(ctx, name, id, ns, []PortMapping{{HostIP: "127.0.0.1", HostPort: freePort(t), ContainerPort: 80}})
	if err != nil {
		t.Fatal(err)
	}
	// The container's namespace vanished first (e.g. a host reboot wiped
	// /run) and libcni's cached result is lost too: Detach must still
	// leave no masquerade, DNAT or firewall rule behind.
	if err := m.DeleteNetNS(id); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(m.stateDir, "cache")); err != nil {
		t.Fatal(err)
	}
	m2, err := NewManager(m.stateDir, m.runDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Detach(ctx, name, id, ns, nil); err != nil {
		t.Fatal(err)
	}
	save := iptablesSave(t)
	if strings.Contains(save, ip.String()) || strings.Contains(save, `id: \"`+id+`\"`) {
		t.Fatalf("rules of %s left:\n%s", id, save)
	}
	if leases := m2.leasedIPs(n, id); len(leases) != 0 {
		t.Errorf("IP lease left: %v", leases)
	}
	if err := m2.RemoveNetwork(name); err != nil {
		t.Fatal(err)
	}
	assertNoTraces(t, n, vethsBefore)
}

func TestIsolationBetweenNetworks(t *testing.T) {
	m := newTestManager(t)
	ctx := context.Background()
	var nss []string
	var ips []net.IP
	for _, suffix := range []string{"p", "q"} {
		name := uniqueName(t, "iso"+suffix)
		if _, err := m.EnsureNetwork(name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.RemoveNetwork(name) })
		id := name + "-c"
		ns, err := m.CreateNetNS(id)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.DeleteNetNS(id) })
		ip, err := m.Attach(ctx, name, id, ns, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Detach(ctx, name, id, ns, nil) })
		nss, ips = append(nss, ns), append(ips, ip)
	}
	listenInNetNS(t, nss[0], ":80", "p")
	var err error
	if err = inNetNS(nss[1], func() error {
		c, err := net.DialTimeout("tcp4", net.JoinHostPort(ips[0].String(), "80"), 500*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	}); err == nil {
		t.Fatal("a container reached a container of another network")
	}
}

// TestAttachFailureRollsBack makes the last plugin of the chain fail on ADD
// (after bridge and portmap succeeded) and checks that nothing is left.
func TestAttachFailureRollsBack(t *testing.T) {
	requireRoot(t)
	realDir := ""
	for _, d := range DefaultPluginDirs {
		if pluginExists([]string{d}, "firewall") {
			realDir = d
			break
		}
	}
	dir := t.TempDir()
	for _, p := range []string{"bridge", "host-local", "portmap"} {
		if err := os.Symlink(filepath.Join(realDir, p), filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	script := "#!/bin/sh\nif [ \"$CNI_COMMAND\" = ADD ]; then\n" +
		"  echo '{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"injected firewall failure\"}'\n  exit 1\nfi\n" +
		"exec " + filepath.Join(realDir, "firewall") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "firewall"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(t.TempDir(), t.TempDir(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	vethsBefore := vethNames(t)
	name := uniqueName(t, "fail")
	n, err := m.EnsureNetwork(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.RemoveNetwork(name) })
	id := name + "-x"
	ns, err := m.CreateNetNS(id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.DeleteNetNS(id) })
	port := freePort(t)
	_, err = m.Attach(ctx, name, id, ns, []PortMapping{{HostIP: "127.0.0.1", HostPort: port, ContainerPort: 80}})
	t.Logf("attach error: %v", err)
	if err == nil || !strings.Contains(err.Error(), "injected firewall failure") {
		t.Fatalf("err = %v", err)
	}
	if atts, _ := m.attachments(""); len(atts) != 0 {
		t.Errorf("attachment records left: %+v", atts)
	}
	if leases := m.leasedIPs(n, id); len(leases) != 0 {
		t.Errorf("IP leases left: %v", leases)
	}
	save := iptablesSave(t)
	if strings.Contains(save, fmt.Sprintf("--dport %d", port)) || strings.Contains(save, `id: \"`+id+`\"`) {
		t.Errorf("rules left after failed attach:\n%s", save)
	}
	var ifaces []net.Interface
	inNetNS(ns, func() error { ifaces, err = net.Interfaces(); return err })
	if len(ifaces) != 1 {
		t.Errorf("interfaces left in the namespace: %+v", ifaces)
	}
	if err := m.RemoveNetwork(name); err != nil {
		t.Fatal(err)
	}
	assertNoTraces(t, n, vethsBefore)
}
