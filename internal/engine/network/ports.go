package network

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
)

// PortMapping publishes ContainerPort of a container on HostIP:HostPort.
// The JSON names are those of the CNI "portMappings" capability.
type PortMapping struct {
	HostIP        string `json:"hostIP,omitempty"` // "" means every host address
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"` // "tcp" (default) or "udp"
}

func (p PortMapping) String() string {
	host := p.HostIP
	if host == "" {
		host = "0.0.0.0"
	}
	return fmt.Sprintf("%s/%s", net.JoinHostPort(host, strconv.Itoa(p.HostPort)), p.Protocol)
}

// normalizePorts validates ports and fills defaults. It returns copies so
// the caller's slice is never modified.
func normalizePorts(ports []PortMapping) ([]PortMapping, error) {
	out := make([]PortMapping, 0, len(ports))
	for i, p := range ports {
		p.Protocol = strings.ToLower(p.Protocol)
		if p.Protocol == "" {
			p.Protocol = "tcp"
		}
		if p.Protocol != "tcp" && p.Protocol != "udp" {
			return nil, fmt.Errorf("port %d: protocol %q is not supported (use tcp or udp)", i, p.Protocol)
		}
		if p.HostPort < 1 || p.HostPort > 65535 {
			return nil, fmt.Errorf("port %d: host port %d out of range 1-65535", i, p.HostPort)
		}
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			return nil, fmt.Errorf("port %d: container port %d out of range 1-65535", i, p.ContainerPort)
		}
		if p.HostIP != "" {
			ip := net.ParseIP(p.HostIP)
			if ip == nil || ip.To4() == nil {
				return nil, fmt.Errorf("port %d: host IP %q is not an IPv4 address (berth networks are IPv4 only)", i, p.HostIP)
			}
			if ip.IsUnspecified() {
				p.HostIP = ""
			} else {
				p.HostIP = ip.To4().String()
			}
		}
		for _, q := range out {
			if portsConflict(p, q) {
				return nil, fmt.Errorf("host port %s is published twice", p)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// portsConflict: same protocol and port, and the host addresses overlap
// (equal, or either one is the wildcard).
func portsConflict(a, b PortMapping) bool {
	return a.Protocol == b.Protocol && a.HostPort == b.HostPort &&
		(a.HostIP == b.HostIP || a.HostIP == "" || b.HostIP == "")
}

// checkHostPortFree binds the host port briefly: a DNAT rule would silently
// steal traffic from a host process already serving it, so an occupied port
// must be refused up front.
func checkHostPortFree(p PortMapping) error {
	addr := net.JoinHostPort(p.HostIP, strconv.Itoa(p.HostPort))
	var err error
	switch p.Protocol {
	case "udp":
		var c net.PacketConn
		if c, err = net.ListenPacket("udp4", addr); err == nil {
			c.Close()
		}
	default:
		var l net.Listener
		if l, err = net.Listen("tcp4", addr); err == nil {
			l.Close()
		}
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("host port %s is already in use by another process", p)
	}
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		return fmt.Errorf("host IP of port %s is not an address of this host", p)
	}
	return fmt.Errorf("host port %s cannot be published: %w", p, err)
}
