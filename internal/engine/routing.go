package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/engine/api"
	"github.com/berth-dev/berth/internal/engine/health"
	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/proxy"
)

// Router is the proxy that serves published TCP ports (internal/proxy,
// running as its own process so ports stay up while the daemon restarts).
// The engine owns the desired routing and pushes all of it on every change.
type Router interface {
	Apply(ctx context.Context, cfg proxy.Config) error
	// Drain waits until a backend taken out of rotation has nothing in
	// flight (or the route's drain timeout passes).
	Drain(ctx context.Context, backendID string) error
}

// SetRouter connects the proxy and pushes the current routing to it (a
// proxy that kept running while the daemon was away is brought up to
// date). With no router (tests of pure orchestration) published TCP ports
// are not served.
func (e *Engine) SetRouter(ctx context.Context, r Router) error {
	e.mu.Lock()
	e.router = r
	e.mu.Unlock()
	e.appliedMu.Lock()
	e.applied, e.appliedShape = nil, nil // a new proxy (or one kept from before) gets everything
	e.appliedMu.Unlock()
	return e.syncRoutes(ctx)
}

// proxied reports whether the proxy (not CNI's portmap) publishes p.
func proxied(p model.PortMapping) bool {
	return p.Protocol == "" || strings.EqualFold(p.Protocol, "tcp")
}

// cniPorts are the ports CNI publishes itself: UDP, which the proxy does
// not carry.
func cniPorts(ports []model.PortMapping) []model.PortMapping {
	var out []model.PortMapping
	for _, p := range ports {
		if !proxied(p) {
			out = append(out, p)
		}
	}
	return out
}

// SetACME gives the engine the daemon's ACME settings, which services
// with x-berth-proxy tls: auto get certificates under (nil: none; such
// services then fail to deploy). Call it before SetRouter.
func (e *Engine) SetACME(a *proxy.ACME) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a != nil {
		c := *a
		a = &c
	}
	e.acme = a
}

// certLister is a Router that reports its automatic certificates (the
// proxy process's client does).
type certLister interface {
	Certificates(ctx context.Context) ([]proxy.CertStatus, error)
}

// ServeCertificates lists the proxy's tls: auto certificates
// (api.ListCerts); none without a router that reports them.
func (e *Engine) ServeCertificates(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	cl, _ := e.router.(certLister)
	e.mu.Unlock()
	certs := []proxy.CertStatus{}
	if cl != nil {
		got, err := cl.Certificates(r.Context())
		if err != nil {
			api.WriteError(w, http.StatusBadGateway, fmt.Errorf("asking the proxy for its certificates: %w", err))
			return
		}
		certs = append(certs, got...)
	}
	api.WriteJSON(w, http.StatusOK, certs)
}

// setRouteSpecs records what a stack's services publish before any of their
// containers exist, so the proxy listens (and a taken port is reported)
// first.
func (e *Engine) setRouteSpecs(stack string, svcs []model.ServiceSpec) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.routeSpecs[stack]
	if m == nil {
		m = map[string]model.ServiceSpec{}
		e.routeSpecs[stack] = m
	}
	for _, s := range svcs {
		m[s.Name] = s
	}
}

// routeKey identifies one route: a service on a listener.
type routeKey struct{ addr, service string }

// proxyConfig computes the proxy's whole desired state from the route specs
// and the containers. Callers hold e.mu.
func (e *Engine) proxyConfigLocked() (proxy.Config, error) {
	type listener struct {
		l      proxy.Listener
		routes map[string]*proxy.Route // by service
		owner  string                  // the service that set Mode/TLS
	}
	listeners := map[string]*listener{}
	routeOf := map[routeKey]*proxy.Route{}
	stacks := make([]string, 0, len(e.routeSpecs))
	for s := range e.routeSpecs {
		stacks = append(stacks, s)
	}
	sort.Strings(stacks)
	for _, stack := range stacks {
		names := make([]string, 0, len(e.routeSpecs[stack]))
		for n := range e.routeSpecs[stack] {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			svc := e.routeSpecs[stack][name]
			service := stack + "/" + name
			for _, p := range svc.Ports {
				if !proxied(p) {
					continue
				}
				if p.HostPort == 0 {
					return proxy.Config{}, fmt.Errorf("service %s publishes container port %d without a host port; berth's proxy needs one (ports: [\"HOST_PORT:%d\"])", service, p.ContainerPort, p.ContainerPort)
				}
				host := p.HostIP
				if host == "" {
					host = "0.0.0.0"
				}
				addr := net.JoinHostPort(host, strconv.Itoa(p.HostPort))
				mode, hosts, balance, drain, tls := proxy.ModeTCP, []string(nil), "", time.Duration(0), (*proxy.TLS)(nil)
				var timeouts proxy.Timeouts
				redirect, backendProto := 0, ""
				acme, ownACME, err := e.acmeFor(service, svc.Proxy)
				if err != nil {
					return proxy.Config{}, err
				}
				var routeACME *proxy.ACME
				if o := svc.Proxy; o != nil {
					if o.Protocol != proxy.ModeTCP {
						mode = proxy.ModeHTTP
					}
					hosts, balance, drain = o.Hosts, o.Balance, o.DrainTimeout
					if mode == proxy.ModeHTTP {
						backendProto = o.BackendProtocol
					}
					timeouts = proxy.Timeouts{ReadBody: proxy.Duration(o.Timeouts.ReadBody),
						ResponseHeader: proxy.Duration(o.Timeouts.ResponseHeader), Write: proxy.Duration(o.Timeouts.Write)}
					if o.TLSCert != "" {
						tls = &proxy.TLS{CertFile: o.TLSCert, KeyFile: o.TLSKey, HSTS: proxy.Duration(o.HSTS)}
					}
					if o.TLSAuto {
						if acme == nil {
							return proxy.Config{}, fmt.Errorf("service %s: x-berth-proxy tls: auto needs ACME settings: acme: {directory: URL} in berth.yaml, or the daemon's (berth daemon --acme-directory URL --acme-email ADDRESS)", service)
						}
						if autoTLSPort(svc, acme.Port()) == 0 {
							return proxy.Config{}, fmt.Errorf("service %s: x-berth-proxy tls: auto: it publishes only port %d, where the CA validates HTTP-01; publish the HTTPS port too (ports: [\"443:%d\"])", service, acme.Port(), p.ContainerPort)
						}
						if p.HostPort == acme.Port() {
							// The CA's HTTP-01 port stays plain HTTP; it
							// redirects to the service's TLS port.
							if !o.NoRedirect {
								redirect = autoTLSPort(svc, acme.Port())
							}
						} else {
							tls = &proxy.TLS{Auto: true, HSTS: proxy.Duration(o.HSTS)}
							if ownACME {
								routeACME = acme
							}
						}
					}
				}
				ln := listeners[addr]
				if ln == nil {
					ln = &listener{l: proxy.Listener{Addr: addr, Mode: mode, TLS: tls}, routes: map[string]*proxy.Route{}, owner: service}
					listeners[addr] = ln
				} else if ln.l.Mode != mode || (ln.l.Mode == proxy.ModeTCP && ln.owner != service) {
					return proxy.Config{}, fmt.Errorf("port %s is published by both %s and %s: several services share a port only as HTTP with x-berth-proxy hosts", addr, ln.owner, service)
				} else if !sameTLS(ln.l.TLS, tls) {
					return proxy.Config{}, fmt.Errorf("port %s is published by both %s and %s with different x-berth-proxy tls settings: services sharing a port share its TLS", addr, ln.owner, service)
				}
				if ln.routes[service] != nil {
					continue // the same host port listed twice
				}
				r := &proxy.Route{Service: service, Hosts: hosts, Balance: balance, DrainTimeout: proxy.Duration(drain), Timeouts: timeouts,
					Backends: []proxy.Backend{}, RedirectHTTPS: redirect, ACME: routeACME, BackendProtocol: backendProto}
				ln.routes[service] = r
				routeOf[routeKey{addr, service}] = r
				// Backends: every container of the service that has this
				// container port, ready or not (not ready: no traffic).
				for _, m := range e.containers {
					if m.Stack != stack || m.Service != name || m.IP == "" {
						continue
					}
					if !publishesContainerPort(m.Spec, p.ContainerPort) {
						continue
					}
					r.Backends = append(r.Backends, proxy.Backend{
						ID:    m.ID,
						Addr:  net.JoinHostPort(m.IP, strconv.Itoa(p.ContainerPort)),
						Ready: routable(m),
					})
				}
				sort.Slice(r.Backends, func(i, j int) bool { return r.Backends[i].ID < r.Backends[j].ID })
			}
			// tls: auto without the CA's HTTP-01 port among the service's
			// own: that port gets a route of its own that redirects to
			// HTTPS (and the proxy answers the challenges there).
			// (With TLS-ALPN-01 the CA validates on the HTTPS port itself.)
			acme, _, _ := e.acmeFor(service, svc.Proxy) // checked above
			if o := svc.Proxy; o != nil && o.TLSAuto && acme.ChallengeType() == proxy.ChallengeHTTP01 && !publishesHostPort(svc, acme.Port()) {
				if tp := autoTLSPort(svc, acme.Port()); tp != 0 {
					addr := net.JoinHostPort(autoTLSHost(svc, acme.Port()), strconv.Itoa(acme.Port()))
					ln := listeners[addr]
					if ln == nil {
						ln = &listener{l: proxy.Listener{Addr: addr, Mode: proxy.ModeHTTP}, routes: map[string]*proxy.Route{}, owner: service}
						listeners[addr] = ln
					} else if ln.l.Mode != proxy.ModeHTTP || ln.l.TLS != nil {
						return proxy.Config{}, fmt.Errorf("service %s: tls: auto needs port %s as plain HTTP for the CA's HTTP-01 challenges, but %s publishes it as %s", service, addr, ln.owner, describeMode(ln.l))
					}
					if ln.routes[service] == nil {
						ln.routes[service] = &proxy.Route{Service: service, Hosts: o.Hosts, Backends: []proxy.Backend{}, RedirectHTTPS: tp}
					}
				}
			}
		}
	}
	addrs := make([]string, 0, len(listeners))
	for a := range listeners {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	cfg := proxy.Config{Listeners: []proxy.Listener{}}
	for _, a := range addrs {
		ln := listeners[a]
		svcs := make([]string, 0, len(ln.routes))
		for s := range ln.routes {
			svcs = append(svcs, s)
		}
		sort.Strings(svcs)
		for _, s := range svcs {
			ln.l.Routes = append(ln.l.Routes, *ln.routes[s])
		}
		cfg.Listeners = append(cfg.Listeners, ln.l)
	}
	cfg.DNS = e.dnsZonesLocked()
	if e.acme != nil {
		a := *e.acme
		cfg.ACME = &a
	}
	return cfg, nil
}

// dnsZonesLocked is every stack network's DNS zone: its gateway and the
// names its containers answer to (service and container names, lower
// case) with the addresses of the routable ones. The proxy process serves
// them, so names resolve while no daemon runs.
func (e *Engine) dnsZonesLocked() []proxy.DNSZone {
	stacks := make([]string, 0, len(e.gateways))
	for s, gw := range e.gateways {
		if gw != "" {
			stacks = append(stacks, s)
		}
	}
	sort.Strings(stacks)
	zones := make([]proxy.DNSZone, 0, len(stacks))
	for _, stack := range stacks {
		z := proxy.DNSZone{Addr: net.JoinHostPort(e.gateways[stack], "53"), Domain: stack}
		for _, m := range e.containers {
			if m.Stack != stack || !routable(m) || net.ParseIP(m.IP) == nil {
				continue
			}
			if z.Names == nil {
				z.Names = map[string][]string{}
			}
			for _, n := range []string{strings.ToLower(m.Service), strings.ToLower(m.Name)} {
				z.Names[n] = append(z.Names[n], m.IP)
			}
		}
		for _, ips := range z.Names {
			sort.Strings(ips)
		}
		zones = append(zones, z)
	}
	return zones
}

// autoTLSPort is the host port a tls: auto service serves HTTPS on: its
// first published TCP port other than the CA's HTTP-01 port (0: none).
func autoTLSPort(s model.ServiceSpec, httpPort int) int {
	for _, p := range s.Ports {
		if proxied(p) && p.HostPort != 0 && p.HostPort != httpPort {
			return p.HostPort
		}
	}
	return 0
}

// autoTLSHost is the host address of that port ("0.0.0.0" for all).
func autoTLSHost(s model.ServiceSpec, httpPort int) string {
	for _, p := range s.Ports {
		if proxied(p) && p.HostPort != 0 && p.HostPort != httpPort && p.HostIP != "" {
			return p.HostIP
		}
	}
	return "0.0.0.0"
}

func publishesHostPort(s model.ServiceSpec, port int) bool {
	for _, p := range s.Ports {
		if proxied(p) && p.HostPort == port {
			return true
		}
	}
	return false
}

// sameTLS reports whether two services sharing a port agree on its TLS.
func sameTLS(a, b *proxy.TLS) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func describeMode(l proxy.Listener) string {
	if l.TLS != nil {
		return "TLS"
	}
	return l.Mode
}

func publishesContainerPort(s model.ServiceSpec, port int) bool {
	for _, p := range s.Ports {
		if proxied(p) && p.ContainerPort == port {
			return true
		}
	}
	return false
}

// routable: running, healthy (or without a health check), not retiring.
func routable(m *managed) bool {
	return m.State == StateRunning && !m.retiring && (m.Health == "" || m.Health == health.Healthy)
}

// syncRoutes pushes the routing to the proxy. Pushes are serialised so an
// older state never overwrites a newer one. A routing equal to the one
// the proxy last accepted is not pushed again. A change of DNS names only
// (a container of any stack started, stopped or changed health) is pushed
// in the background (namePusher): it would otherwise cost a round trip to
// the proxy process on every container start. Listeners, backends and the
// set of DNS zones are pushed before syncRoutes returns: a new network's
// DNS server answers before its first container starts.
func (e *Engine) syncRoutes(ctx context.Context) error {
	r, cfg, err := e.routing()
	if r == nil || err != nil {
		return err
	}
	shape := routingShape(cfg)
	e.appliedMu.Lock()
	same := e.appliedShape != nil && bytes.Equal(shape, e.appliedShape)
	e.appliedMu.Unlock()
	if same {
		e.kickNamePusher()
		return nil
	}
	return e.pushRoutes(ctx)
}

// pushRoutes pushes the current routing unless the proxy has it already.
// It holds routeMu throughout, so pushes never overtake each other.
func (e *Engine) pushRoutes(ctx context.Context) error {
	e.routeMu.Lock()
	defer e.routeMu.Unlock()
	r, cfg, err := e.routing()
	if r == nil || err != nil {
		return err
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("proxy: encode routing: %w", err)
	}
	e.appliedMu.Lock()
	same := e.applied != nil && bytes.Equal(raw, e.applied)
	e.appliedMu.Unlock()
	if same {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err = r.Apply(ctx, cfg)
	e.appliedMu.Lock()
	defer e.appliedMu.Unlock()
	if err != nil {
		// Whatever the proxy holds now, the next change pushes again.
		e.applied, e.appliedShape = nil, nil
		return fmt.Errorf("proxy: %w", err)
	}
	e.applied, e.appliedShape = raw, routingShape(cfg)
	return nil
}

// routing is the router and the config it should have now (no router:
// nil, and nothing to push).
func (e *Engine) routing() (Router, proxy.Config, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.router == nil {
		return nil, proxy.Config{}, nil
	}
	cfg, err := e.proxyConfigLocked()
	return e.router, cfg, err
}

// routingShape is the part of cfg a caller of syncRoutes waits for: all
// but the DNS zones' names.
func routingShape(cfg proxy.Config) []byte {
	zones := make([]proxy.DNSZone, len(cfg.DNS))
	for i, z := range cfg.DNS {
		zones[i] = proxy.DNSZone{Addr: z.Addr, Domain: z.Domain}
	}
	cfg.DNS = zones
	b, _ := json.Marshal(cfg) // encoded in full just before
	return b
}

// kickNamePusher asks the background pusher (started once, on the first
// kick) to push the current routing, names included.
func (e *Engine) kickNamePusher() {
	e.namePushOnce.Do(func() {
		e.namePush = make(chan struct{}, 1)
		go e.namePusher()
	})
	select {
	case e.namePush <- struct{}{}:
	default: // a push is pending already; it reads the state when it runs
	}
}

func (e *Engine) namePusher() {
	for {
		select {
		case <-e.closed:
			return
		case <-e.namePush:
		}
		if err := e.pushRoutes(context.Background()); err != nil {
			e.log.Error("updating the proxy's DNS names", "err", err)
		}
	}
}

// resync is syncRoutes for state changes nobody waits on: failures are
// logged (the next change pushes everything again).
func (e *Engine) resync() {
	if err := e.syncRoutes(context.Background()); err != nil {
		e.log.Error("updating the proxy", "err", err)
	}
}

// drain takes a container out of rotation and waits for its in-flight
// requests, before it is stopped.
func (e *Engine) drain(ctx context.Context, m *managed) {
	e.mu.Lock()
	r := e.router
	has := false
	for _, p := range m.Spec.Ports {
		has = has || proxied(p)
	}
	if r == nil || !has {
		e.mu.Unlock()
		return
	}
	m.retiring = true
	e.mu.Unlock()
	e.resync()
	timeout := 30 * time.Second
	if m.Spec.Proxy != nil && m.Spec.Proxy.DrainTimeout > 0 {
		timeout = m.Spec.Proxy.DrainTimeout
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout+5*time.Second)
	defer cancel()
	if err := r.Drain(dctx, m.ID); err != nil {
		e.log.Warn("draining container", "container", m.Name, "err", err)
	}
}

// routeSpecsOf copies a stack's route specs (to restore on failure).
func (e *Engine) routeSpecsOf(stack string) map[string]model.ServiceSpec {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.routeSpecs[stack] == nil {
		return nil
	}
	out := make(map[string]model.ServiceSpec, len(e.routeSpecs[stack]))
	for k, v := range e.routeSpecs[stack] {
		out[k] = v
	}
	return out
}

func (e *Engine) restoreRouteSpecs(stack string, prev map[string]model.ServiceSpec) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if prev == nil {
		delete(e.routeSpecs, stack)
		return
	}
	e.routeSpecs[stack] = prev
}

// initRouteSpecs learns, at start, what the stacks publish: a stack's
// recorded spec, and for services it lacks (an up that failed midway) the
// spec of their newest container.
func (e *Engine) initRouteSpecs() {
	e.mu.Lock()
	defer e.mu.Unlock()
	type serviceKey struct{ stack, service string }
	newest := map[serviceKey]*managed{}
	for _, m := range e.containers {
		k := serviceKey{m.Stack, m.Service}
		if o := newest[k]; o == nil || m.Revision > o.Revision {
			newest[k] = m
		}
	}
	for k, m := range newest {
		if e.routeSpecs[k.stack] == nil {
			e.routeSpecs[k.stack] = map[string]model.ServiceSpec{}
		}
		e.routeSpecs[k.stack][k.service] = m.Spec
	}
	for name, st := range e.stacks {
		if e.routeSpecs[name] == nil {
			e.routeSpecs[name] = map[string]model.ServiceSpec{}
		}
		for _, s := range st.Services {
			e.routeSpecs[name][s.Name] = s
		}
	}
}
