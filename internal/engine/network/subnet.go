package network

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
)

// subnetPool is the range berth carves per-network /24s from. It sits next
// to podman's default 10.88.0.0/16 and away from Docker's 172.17.0.0/16.
var subnetPool = net.IPNet{IP: net.IPv4(10, 89, 0, 0).To4(), Mask: net.CIDRMask(16, 32)}

// allocateSubnet returns the first /24 in subnetPool that overlaps none of
// used.
func allocateSubnet(used []*net.IPNet) (*net.IPNet, error) {
	base := subnetPool.IP.To4()
	for third := 0; third < 256; third++ {
		cand := &net.IPNet{IP: net.IPv4(base[0], base[1], byte(third), 0).To4(), Mask: net.CIDRMask(24, 32)}
		free := true
		for _, u := range used {
			if overlaps(cand, u) {
				free = false
				break
			}
		}
		if free {
			return cand, nil
		}
	}
	return nil, fmt.Errorf("no free /24 left in %s: remove unused berth networks or conflicting host routes", subnetPool.String())
}

func overlaps(a, b *net.IPNet) bool {
	return a.Contains(b.IP) || b.Contains(a.IP)
}

// hostNetworks lists IPv4 networks the host already routes or has addresses
// in, so a new bridge never shadows a LAN or VPN route. The default route is
// skipped: it overlaps everything and is exactly what bridge networks sit
// beside.
func hostNetworks() ([]*net.IPNet, error) {
	var out []*net.IPNet
	routes, err := parseRouteTable("/proc/net/route")
	if err != nil {
		return nil, err
	}
	out = append(out, routes...)
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list host addresses: %w", err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			out = append(out, &net.IPNet{IP: ipn.IP.Mask(ipn.Mask), Mask: ipn.Mask})
		}
	}
	return out, nil
}

// parseRouteTable reads the kernel's IPv4 main routing table in
// /proc/net/route format (hex, host byte order which is little-endian on
// every platform berth runs on).
func parseRouteTable(path string) ([]*net.IPNet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read host routes: %w", err)
	}
	defer f.Close()
	var out []*net.IPNet
	sc := bufio.NewScanner(f)
	first := true
	for sc.Scan() {
		if first { // header line
			first = false
			continue
		}
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 {
			continue
		}
		dst, err1 := parseHexIPv4(fields[1])
		mask, err2 := parseHexIPv4(fields[7])
		if err1 != nil || err2 != nil {
			continue
		}
		m := net.IPMask(mask)
		if ones, _ := m.Size(); ones == 0 {
			continue // default route
		}
		out = append(out, &net.IPNet{IP: dst.Mask(m), Mask: m})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read host routes: %w", err)
	}
	return out, nil
}

func parseHexIPv4(s string) (net.IP, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		return nil, fmt.Errorf("bad address %q", s)
	}
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, binary.LittleEndian.Uint32(b))
	return ip, nil
}
