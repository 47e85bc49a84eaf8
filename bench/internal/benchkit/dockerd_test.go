//go:build linux

package benchkit

import (
	"context"
	"net"
	"testing"
)

func TestFreeSubnet(t *testing.T) {
	gw, err := FreeSubnet()
	if err != nil {
		t.Skip("every candidate subnet is in use on this host:", err)
	}
	ip, n, err := net.ParseCIDR(gw)
	if err != nil {
		t.Fatalf("FreeSubnet = %q: %v", gw, err)
	}
	if ones, _ := n.Mask.Size(); ones != 24 || ip.To4()[3] != 1 || !n.Contains(ip) {
		t.Errorf("FreeSubnet = %q, want a .1 gateway in a /24", gw)
	}
}

func TestMountsUnderNothing(t *testing.T) {
	if m := MountsUnder(t.TempDir()); len(m) != 0 {
		t.Errorf("MountsUnder(new dir) = %v, want none", m)
	}
}

func TestStartDockerdWithRejectsBadConfig(t *testing.T) {
	for _, cfg := range []DockerdConfig{
		{CLI: "docker", Dir: "/tmp/x"},
		{Bin: "dockerd", CLI: "docker", Dir: "/tmp/x", Bridge: "br0"},
		{Bin: "dockerd", CLI: "docker", Dir: "/tmp/x", BridgeCIDR: "10.0.0.1/24"},
	} {
		if d, err := StartDockerdWith(context.Background(), cfg); err == nil {
			d.Stop()
			t.Errorf("StartDockerdWith(%+v) started", cfg)
		}
	}
}
