package daemon

import (
	"context"
	"log/slog"
	"net"
	goruntime "runtime"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/engine/network"
	"github.com/berth-dev/berth/internal/model"
)

// networks adapts internal/engine/network to engine.Networks and keeps a
// small pool of pre-attached namespaces per network (netPool) so that a
// container without published ports starts without a CNI ADD. (Each
// network's DNS server runs in the `berth proxy` process, which outlives
// the daemon: the engine pushes its zone with the routing.)
type networks struct {
	m *network.Manager

	mu    sync.Mutex
	pools map[string]*netPool
	// poolSize is how many ready namespaces each network keeps; 0 turns
	// the pool off.
	poolSize int
	log      *slog.Logger
	// starts counts the container starts in flight; pool refills wait for
	// them. The daemon shares it with the runtime, which ends each start.
	starts *startGate
}

func newNetworks(m *network.Manager) *networks {
	return &networks{m: m, pools: map[string]*netPool{},
		poolSize: defaultPoolSize, log: slog.Default(), starts: newStartGate()}
}

func ports(ps []model.PortMapping) []network.PortMapping {
	out := make([]network.PortMapping, len(ps))
	for i, p := range ps {
		out[i] = network.PortMapping{HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: p.Protocol}
	}
	return out
}

// Ensure creates the stack's network (idempotent) and its namespace pool.
func (n *networks) Ensure(_ context.Context, name string) (net.IP, error) {
	nw, err := n.m.EnsureNetwork(name)
	if err != nil {
		return nil, err
	}
	if n.poolSize > 0 {
		n.mu.Lock()
		p, created := n.pools[name], false
		if p == nil {
			p, created = newNetPool(n.m, name, n.poolSize, n.starts, n.log), true
			n.pools[name] = p
		}
		n.mu.Unlock()
		if created {
			// The first Ensure of this daemon: undo what a previous
			// daemon's death left half-done in the pool (ready entries
			// stay and are used).
			if err := n.m.ReclaimPool(name); err != nil {
				n.log.Warn("reclaiming the namespace pool", "network", name, "err", err)
			}
		}
		p.kick()
	}
	return nw.Gateway, nil
}

// CreateNetNS only names the namespace's path: Attach either pins a pooled
// namespace there or creates one.
func (n *networks) CreateNetNS(id string) (string, error) { return n.m.ReserveNetNS(id) }

func (n *networks) DeleteNetNS(id string) error {
	n.starts.end(id)
	return n.m.DeleteNetNS(id)
}

// Attach takes a pre-attached namespace from the network's pool when the
// container publishes no ports through CNI (waiting for the one being
// made rather than making its own, which would queue behind it on the
// network lock anyway), else creates the namespace and runs the CNI ADD.
func (n *networks) Attach(ctx context.Context, netName, id, netns string, ps []model.PortMapping) (_ net.IP, err error) {
	// The start is in flight from here until the runtime's Start returns
	// (or, on failure, until here or the engine's undo).
	n.starts.begin(id)
	defer func() {
		if err != nil {
			n.starts.end(id)
		}
	}()
	if len(ps) == 0 {
		n.mu.Lock()
		p := n.pools[netName]
		n.mu.Unlock()
		if p != nil {
			ip, ok, err := p.take(ctx, id, netns)
			if err != nil {
				return nil, err
			}
			if ok {
				return ip, nil
			}
		}
	}
	if _, err := n.m.CreateNetNS(id); err != nil {
		return nil, err
	}
	return n.m.Attach(ctx, netName, id, netns, ports(ps))
}

func (n *networks) Detach(ctx context.Context, netName, id, netns string, ps []model.PortMapping) error {
	n.starts.end(id)
	return n.m.Detach(ctx, netName, id, netns, ports(ps))
}

// Remove removes the network and its namespace pool.
func (n *networks) Remove(_ context.Context, name string) error {
	n.mu.Lock()
	p := n.pools[name]
	delete(n.pools, name)
	n.mu.Unlock()
	if p != nil {
		// No entry may be added after RemoveNetwork released them all.
		p.stop()
	}
	return n.m.RemoveNetwork(name)
}

// close stops every pool filler (the networks and their
// ready pool entries stay: containers keep running, the next daemon uses
// the entries).
func (n *networks) close() {
	n.mu.Lock()
	pools := n.pools
	n.pools = map[string]*netPool{}
	n.mu.Unlock()
	for _, p := range pools {
		p.stop()
	}
}

// defaultPoolSize is how many ready namespaces a network keeps: enough for
// the next container or two of a running stack; a burst beyond it waits
// for the filler, which is no slower than attaching itself.
const defaultPoolSize = 2

// netPool keeps one network's pool of pre-attached namespaces filled: one
// filler goroutine at a time adds entries until the pool holds size ready
// ones plus one per container waiting for an entry.
type netPool struct {
	m      *network.Manager
	name   string
	size   int
	starts *startGate
	log    *slog.Logger

	mu      sync.Mutex
	waiters int
	filling bool
	stopped bool
	changed chan struct{} // closed and replaced when an entry is added or filling stops
	done    chan struct{} // closed when the running filler returns
	quit    chan struct{} // closed by stop
	wake    chan struct{} // a container started waiting: a filler held back by starts must go on
}

func newNetPool(m *network.Manager, name string, size int, starts *startGate, log *slog.Logger) *netPool {
	return &netPool{m: m, name: name, size: size, starts: starts, log: log, changed: make(chan struct{}),
		quit: make(chan struct{}), wake: make(chan struct{}, 1)}
}

func (p *netPool) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// kick starts the filler unless it runs already.
func (p *netPool) kick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.filling || p.stopped {
		return
	}
	p.filling = true
	p.done = make(chan struct{})
	go p.fill(p.done)
}

func (p *netPool) fill(done chan struct{}) {
	defer close(done)
	for {
		have, err := p.m.PoolSize(p.name)
		if err == nil {
			p.mu.Lock()
			more := !p.stopped && have < p.size+p.waiters
			urgent := p.waiters > 0
			p.mu.Unlock()
			if !more {
				break
			}
			if !urgent {
				// A refill nobody waits for holds back while containers
				// are starting, then runs; a container that starts
				// waiting meanwhile makes it urgent.
				if !p.starts.waitIdle(p.quit, p.wake) {
					continue
				}
			}
			// An empty pool's next entry is as good as waited for (a
			// new stack's first container is on its way): only refills
			// beyond it run in the background.
			err = p.addEntry(!urgent && have > 0)
		}
		if err != nil {
			// Containers attach themselves meanwhile; the next take or
			// Ensure tries again.
			p.log.Warn("filling the namespace pool", "network", p.name, "err", err)
			break
		}
		p.mu.Lock()
		p.notifyLocked()
		p.mu.Unlock()
	}
	p.mu.Lock()
	p.filling = false
	p.notifyLocked()
	p.mu.Unlock()
}

// addEntry runs one AddToPool on an OS thread of its own, in the
// background at the lowest CPU priority: the plugin and iptables processes
// inherit the priority of the thread that forks them, so a refill yields
// the CPU to the containers starting meanwhile (on a small machine it
// would otherwise slow their runc down by half). An entry a container
// waits for, or an empty pool's first, is made at normal priority.
func (p *netPool) addEntry(background bool) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread, and its priority, end with the
		// goroutine instead of going back to the scheduler.
		goruntime.LockOSThread()
		if background {
			_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), 19)
		}
		errc <- p.m.AddToPool(context.Background(), p.name)
	}()
	return <-errc
}

// take attaches container id with a pool entry pinned at netns. ok is
// false when the pool is empty and nothing is being added to it.
func (p *netPool) take(ctx context.Context, id, netns string) (ip net.IP, ok bool, err error) {
	for {
		ip, ok, err := p.m.TakeFromPool(p.name, id, netns)
		if ok {
			p.kick()
		}
		if err != nil || ok {
			return ip, ok, err
		}
		p.mu.Lock()
		if !p.filling || p.stopped {
			p.mu.Unlock()
			return nil, false, nil
		}
		p.waiters++
		ch := p.changed
		p.mu.Unlock()
		select {
		case p.wake <- struct{}{}:
		default: // a wake-up is pending already
		}
		select {
		case <-ch:
		case <-ctx.Done():
		}
		p.mu.Lock()
		p.waiters--
		p.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
	}
}

// stop ends filling and waits for an entry being added (the network's
// removal must come after it, or the entry would outlive the network).
func (p *netPool) stop() {
	p.mu.Lock()
	if !p.stopped {
		close(p.quit)
	}
	p.stopped = true
	done := p.done
	p.notifyLocked()
	p.mu.Unlock()
	if done != nil {
		<-done
	}
}
