package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/network"
)

// networks adapts internal/engine/network to engine.Networks, and runs one
// DNS server per stack network on its gateway address.
type networks struct {
	m      *network.Manager
	lookup func(stack, name string) []net.IP // the engine's, set after it exists

	mu   sync.Mutex
	dns  map[string]*network.DNSServer
	upst []string
}

func newNetworks(m *network.Manager) *networks {
	up, _ := network.HostUpstreams("/etc/resolv.conf")
	return &networks{m: m, dns: map[string]*network.DNSServer{}, upst: up}
}

func ports(ps []engine.PortMapping) []network.PortMapping {
	out := make([]network.PortMapping, len(ps))
	for i, p := range ps {
		out[i] = network.PortMapping{HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: p.Protocol}
	}
	return out
}

// Ensure creates the stack's network (idempotent) and its DNS server.
func (n *networks) Ensure(_ context.Context, name string) (net.IP, error) {
	nw, err := n.m.EnsureNetwork(name)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.dns[name]; !ok {
		stack := name
		srv, err := network.NewDNS(net.JoinHostPort(nw.Gateway.String(), "53"), stack,
			func(q string) []net.IP { return n.lookup(stack, q) }, n.upst)
		if err != nil {
			return nil, fmt.Errorf("DNS for network %s: %w", name, err)
		}
		if err := srv.Start(); err != nil {
			return nil, fmt.Errorf("DNS for network %s on %s: %w", name, nw.Gateway, err)
		}
		n.dns[name] = srv
	}
	return nw.Gateway, nil
}

func (n *networks) CreateNetNS(id string) (string, error) { return n.m.CreateNetNS(id) }
func (n *networks) DeleteNetNS(id string) error           { return n.m.DeleteNetNS(id) }

func (n *networks) Attach(ctx context.Context, netName, id, netns string, ps []engine.PortMapping) (net.IP, error) {
	return n.m.Attach(ctx, netName, id, netns, ports(ps))
}

func (n *networks) Detach(ctx context.Context, netName, id, netns string, ps []engine.PortMapping) error {
	return n.m.Detach(ctx, netName, id, netns, ports(ps))
}

// Remove stops the network's DNS server and removes the network.
func (n *networks) Remove(_ context.Context, name string) error {
	n.mu.Lock()
	srv := n.dns[name]
	delete(n.dns, name)
	n.mu.Unlock()
	var errs []error
	if srv != nil {
		errs = append(errs, srv.Stop())
	}
	errs = append(errs, n.m.RemoveNetwork(name))
	return errors.Join(errs...)
}

// close stops every DNS server (the networks stay: containers keep running).
func (n *networks) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for name, srv := range n.dns {
		_ = srv.Stop()
		delete(n.dns, name)
	}
}
