package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Proxy.
type Options struct {
	Log        *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics
	// Listen opens the socket of a listener new in a config (Addr as
	// configured); nil: net.Listen("tcp", addr). The proxy process passes
	// one that first takes a socket inherited from its predecessor.
	Listen func(addr string) (net.Listener, error)
	// CertDir keeps the certificates obtained for TLS.Auto listeners
	// (and the ACME account key); empty: TLS.Auto is refused.
	CertDir string
	// GoroutinePerConn serves plain HTTP with a goroutine per connection
	// only, without the event loops (eloop.go).
	GoroutinePerConn bool
}

// RouteStatus is one route of one listener as it runs now.
type RouteStatus struct {
	Listener string          `json:"listener"` // the configured Addr
	Mode     string          `json:"mode"`
	Service  string          `json:"service"`
	Hosts    []string        `json:"hosts,omitempty"`
	Backends []BackendStatus `json:"backends"`
}

// BackendStatus counts one backend's traffic. The counters belong to the
// backend ID, so a replica serving several routes shows the same numbers in each.
type BackendStatus struct {
	ID       string `json:"id"`
	Addr     string `json:"addr"`
	Ready    bool   `json:"ready"`
	InFlight int64  `json:"inFlight"`
	Requests uint64 `json:"requests"` // requests or connections sent to it
	Failures uint64 `json:"failures"` // failed dials and backend errors
}

// closeTimeout bounds how long Close waits for in-flight requests.
const closeTimeout = 5 * time.Second

// forgetAfter is how long the counters of a backend that left the config
// are kept (Drain and Status may still ask for it) before they are dropped.
const forgetAfter = time.Minute

// Proxy serves a Config. All methods are safe for concurrent use.
type Proxy struct {
	log *slog.Logger
	m   *metrics

	mu        sync.Mutex // serialises Apply, Close and the maps below
	cfg       atomic.Pointer[Config]
	listeners map[string]*listener // by configured Addr
	backends  map[string]*backend  // by ID
	svcCounts map[string][2]int    // ready / not ready per service, for metrics
	closed    bool
	closing   sync.WaitGroup  // listeners removed by Apply, finishing their requests
	stop      context.Context // ended by Close: removed listeners stop waiting too
	stopNow   context.CancelFunc

	listen      func(addr string) (net.Listener, error)
	holdTimeout time.Duration // holdTimeout; tests shorten it
	waiting     atomic.Int64  // requests and connections waiting for a backend

	// Automatic certificates: the manager is made at the first Apply
	// that needs it and lives until Close.
	certDir   string
	reg       prometheus.Registerer
	acme      atomic.Pointer[certManager]
	acmeRetry time.Duration // backoff floor after a failed attempt; tests shorten it

	// Event loops for plain HTTP (eloop.go), started with the first
	// plain-HTTP connection; noLoops: a goroutine per connection.
	loops     atomic.Pointer[eloops]
	loopsOnce sync.Once
	noLoops   bool
}

// eventLoops returns the proxy's event loops, starting them on first use;
// nil when they are off or cannot run.
func (p *Proxy) eventLoops() *eloops {
	if p.noLoops {
		return nil
	}
	p.loopsOnce.Do(func() {
		if p.stop.Err() == nil {
			if ls := startLoops(p, min(runtime.NumCPU(), runtime.GOMAXPROCS(0))); ls != nil {
				p.loops.Store(ls)
			}
		}
	})
	return p.loops.Load()
}

// New returns a Proxy with an empty config; nothing listens until Apply.
func New(o Options) *Proxy {
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := &Proxy{
		log:       log,
		m:         newMetrics(o.Registerer, log),
		listeners: map[string]*listener{},
		backends:  map[string]*backend{},

		listen:      o.Listen,
		holdTimeout: holdTimeout,
		certDir:     o.CertDir,
		reg:         o.Registerer,
		noLoops:     o.GoroutinePerConn,
	}
	if p.listen == nil {
		p.listen = func(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
	}
	p.stop, p.stopNow = context.WithCancel(context.Background())
	p.cfg.Store(&Config{})
	return p
}

// Apply validates cfg and makes it current. It is atomic: when the config
// is invalid, a certificate cannot be loaded or a new address cannot be
// bound, nothing changes and the error names the field, file or address.
// Listeners whose Addr stays keep their socket; listeners that are gone
// stop accepting and finish their in-flight requests in the background;
// backends that are gone or not Ready get no new traffic (see Drain).
func (p *Proxy) Apply(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("proxy config: %w", err)
	}
	cfg = cloneConfig(cfg)
	certs := map[string]*tls.Certificate{}
	for _, l := range cfg.Listeners {
		if l.TLS == nil || l.TLS.Auto {
			continue
		}
		c, err := tls.LoadX509KeyPair(l.TLS.CertFile, l.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("proxy listener %s: tls certFile %s, keyFile %s: %w", l.Addr, l.TLS.CertFile, l.TLS.KeyFile, err)
		}
		certs[l.Addr] = &c
	}
	autoHosts := cfg.autoHosts()
	if len(autoHosts) > 0 {
		m, err := p.acmeManager()
		if err != nil {
			return err
		}
		if err := m.Check(autoHosts); err != nil {
			return fmt.Errorf("proxy tls auto: %w", err)
		}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("proxy is closed")
	}
	// Bind every new address first; any failure undoes the others.
	opened := map[string]net.Listener{}
	for _, l := range cfg.Listeners {
		if _, ok := p.listeners[l.Addr]; ok {
			continue
		}
		ln, err := p.listen(l.Addr)
		if err != nil {
			for _, o := range opened {
				o.Close()
			}
			return fmt.Errorf("proxy listener %s: %w", l.Addr, err)
		}
		opened[l.Addr] = ln
	}

	// From here on nothing fails.
	if m := p.acme.Load(); m != nil {
		m.adoptLegacy(cfg.ACME)
		m.Set(autoHosts)
	}
	now := time.Now()
	accepting := map[string]bool{}
	counts := map[string][2]int{}
	for _, l := range cfg.Listeners {
		for _, r := range l.Routes {
			c := counts[r.Service]
			for _, bc := range r.Backends {
				b := p.backends[bc.ID]
				if b == nil {
					b = newBackend(bc.ID)
					p.backends[bc.ID] = b
				}
				if cur := b.addr.Load(); cur == nil || *cur != bc.Addr {
					a := bc.Addr
					b.addr.Store(&a)
				}
				b.drainAfter.Store(int64(drainTimeout(r)))
				accepting[bc.ID] = accepting[bc.ID] || bc.Ready
				if bc.Ready {
					c[0]++
				} else {
					c[1]++
				}
			}
			counts[r.Service] = c
		}
	}
	for id, b := range p.backends {
		ok, present := accepting[id]
		b.accepting.Store(ok)
		if !ok {
			// Keep-alive connections to a replica on its way out close now,
			// so it is not held up by idle clients.
			b.closeIdle()
		}
		b.mu.Lock()
		if present {
			b.goneAt = time.Time{}
		} else if b.goneAt.IsZero() {
			b.goneAt = now
		}
		forget := !present && now.Sub(b.goneAt) > forgetAfter && b.inflight.Load() == 0
		b.mu.Unlock()
		if forget {
			delete(p.backends, id)
		}
	}

	keep := map[string]bool{}
	for _, lc := range cfg.Listeners {
		keep[lc.Addr] = true
		st := p.buildState(lc, certs[lc.Addr], cfg.usesACME() && p.acme.Load() != nil)
		if l, ok := p.listeners[lc.Addr]; ok {
			old := l.state.Swap(st)
			close(old.changed)
			continue
		}
		l := newListener(p, opened[lc.Addr], st)
		p.listeners[lc.Addr] = l
		l.start()
	}
	for addr, l := range p.listeners {
		if keep[addr] {
			continue
		}
		delete(p.listeners, addr)
		p.closing.Add(1)
		go func() {
			defer p.closing.Done()
			ctx, cancel := context.WithTimeout(p.stop, maxDrainTimeout(l.state.Load()))
			defer cancel()
			l.close(ctx)
			p.log.Info("proxy listener closed", "addr", addr)
		}()
	}
	p.m.setBackends(counts, p.svcCounts)
	p.svcCounts = counts
	p.cfg.Store(&cfg)
	return nil
}

func drainTimeout(r Route) time.Duration {
	if r.DrainTimeout > 0 {
		return time.Duration(r.DrainTimeout)
	}
	return defaultDrainTimeout
}

func maxDrainTimeout(st *listenerState) time.Duration {
	d := time.Duration(0)
	for _, r := range st.routes {
		d = max(d, r.drainTimeout)
	}
	return max(d, time.Second)
}

// buildState compiles a listener's config into its routing snapshot.
// Called with p.mu held, after the backends map is up to date. acme: the
// proxy answers HTTP-01 challenges (on plain HTTP listeners).
func (p *Proxy) buildState(lc Listener, cert *tls.Certificate, acme bool) *listenerState {
	st := &listenerState{
		addr:    lc.Addr,
		mode:    lc.Mode,
		cert:    cert,
		changed: make(chan struct{}),
	}
	if t := lc.TLS; t != nil {
		st.tls, st.auto = true, t.Auto
		if t.HSTS > 0 {
			st.hsts = []string{fmt.Sprintf("max-age=%d", int64(time.Duration(t.HSTS)/time.Second))}
			st.hstsLine = "Strict-Transport-Security: " + st.hsts[0] + "\r\n"
		}
	}
	st.challenges = lc.Mode == ModeHTTP && !st.tls && acme
	for _, rc := range lc.Routes {
		r := &route{
			cfg:          rc,
			leastConn:    rc.Balance == LeastConn,
			drainTimeout: drainTimeout(rc),
			timeouts:     resolveTimeouts(rc.Timeouts),
			m:            p.m.service(rc.Service),
			redirect:     rc.RedirectHTTPS,
			h2c:          rc.BackendProtocol == BackendH2C,
		}
		if r.redirect > 0 && lc.Mode == ModeHTTP && !st.tls {
			st.redirects = true
		}
		st.h2c = st.h2c || r.h2c
		for _, bc := range rc.Backends {
			b := p.backends[bc.ID]
			r.all = append(r.all, b)
			if bc.Ready {
				r.ready = append(r.ready, b)
			}
		}
		st.routes = append(st.routes, r)
		st.write = max(st.write, r.timeouts.write)
		if len(rc.Hosts) == 0 {
			st.def = r
			continue
		}
		if st.byHost == nil {
			st.byHost = map[string]*route{}
		}
		for _, h := range rc.Hosts {
			st.byHost[normalizeHost(h)] = r
		}
	}
	return st
}

// Drain blocks until the backend has nothing in flight, or its route's
// DrainTimeout (default 30 s) passes — then its remaining requests and
// connections are cut, its WebSockets ended with a close frame (1001 Going
// Away) to each side within goAwayGrace, and Drain returns nil — or ctx
// ends (ctx.Err()). The
// caller first Applies a Config where the backend is not Ready or absent.
// An unknown or idle backend returns nil at once.
func (p *Proxy) Drain(ctx context.Context, backendID string) error {
	p.mu.Lock()
	b := p.backends[backendID]
	p.mu.Unlock()
	if b == nil || b.inflight.Load() == 0 {
		return nil
	}
	timeout := time.Duration(b.drainAfter.Load())
	if timeout <= 0 {
		timeout = defaultDrainTimeout
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for b.inflight.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			n := b.cut()
			if ls := p.loops.Load(); ls != nil {
				ls.cut(b)
			}
			p.log.Warn("proxy drain timeout: cutting connections", "backend", backendID, "timeout", timeout, "connections", n, "inFlight", b.inflight.Load())
			// Cut requests end promptly; wait for them so the caller can
			// stop the replica knowing nothing uses it.
			grace := time.NewTimer(closeTimeout)
			defer grace.Stop()
			for b.inflight.Load() > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-grace.C:
					return fmt.Errorf("drain %s: %d still in flight after cutting its connections", backendID, b.inflight.Load())
				case <-tick.C:
				}
			}
			return nil
		case <-tick.C:
		}
	}
	return nil
}

// endTunnels ends every upgraded connection as a drain timeout does
// (WebSockets with a close frame, 1001 Going Away, to each side) and waits
// a little longer than goAwayGrace for them to finish: the listeners'
// close does not wait for connections that left HTTP.
func (p *Proxy) endTunnels() {
	p.mu.Lock()
	bs := make([]*backend, 0, len(p.backends))
	for _, b := range p.backends {
		bs = append(bs, b)
	}
	p.mu.Unlock()
	n := 0
	for _, b := range bs {
		n += b.goAwayTunnels()
	}
	if n == 0 {
		return
	}
	deadline := time.Now().Add(goAwayGrace + 500*time.Millisecond)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		left := 0
		for _, b := range bs {
			left += b.tunnelCount()
		}
		if left == 0 {
			return
		}
		<-tick.C
	}
}

// Config returns a copy of the current config.
func (p *Proxy) Config() Config { return cloneConfig(*p.cfg.Load()) }

// Status reports every route of the current config with its backends'
// counters.
func (p *Proxy) Status() []RouteStatus {
	cfg := p.cfg.Load()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []RouteStatus
	for _, l := range cfg.Listeners {
		for _, r := range l.Routes {
			rs := RouteStatus{Listener: l.Addr, Mode: l.Mode, Service: r.Service, Hosts: append([]string(nil), r.Hosts...), Backends: []BackendStatus{}}
			for _, bc := range r.Backends {
				bs := BackendStatus{ID: bc.ID, Addr: bc.Addr, Ready: bc.Ready}
				if b := p.backends[bc.ID]; b != nil {
					bs.InFlight = b.inflight.Load()
					bs.Requests = b.requests.Load()
					bs.Failures = b.failures.Load()
				}
				rs.Backends = append(rs.Backends, bs)
			}
			out = append(out, rs)
		}
	}
	return out
}

// Close stops every listener and waits up to 5 s for in-flight requests
// and connections, then cuts what is left. The Proxy cannot be used again.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	ls := p.listeners
	p.listeners = map[string]*listener{}
	p.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Add(1)
		go func() { defer wg.Done(); l.close(ctx) }()
	}
	wg.Wait()
	p.endTunnels()
	p.stopNow() // listeners removed earlier had their chance too
	p.closing.Wait()
	p.loopsOnce.Do(func() {}) // none start from now on
	if ls := p.loops.Load(); ls != nil {
		ls.stop()
	}
	if m := p.acme.Load(); m != nil {
		m.Close()
	}
	p.mu.Lock()
	for _, b := range p.backends {
		b.closeIdle()
	}
	p.mu.Unlock()
	return nil
}

// acmeManager returns the certificate manager, making it the first time.
func (p *Proxy) acmeManager() (*certManager, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m := p.acme.Load(); m != nil {
		return m, nil
	}
	if p.certDir == "" {
		return nil, errors.New("proxy tls auto: this proxy has no certificate directory")
	}
	m, err := newCertManager(certManagerOptions{Dir: p.certDir, Log: p.log, Registerer: p.reg, RetryMin: p.acmeRetry})
	if err != nil {
		return nil, err
	}
	p.acme.Store(m)
	return m, nil
}

// Certificates reports the automatic certificates (TLS.Auto hosts).
func (p *Proxy) Certificates() []CertStatus {
	if m := p.acme.Load(); m != nil {
		return m.status()
	}
	return nil
}

// boundAddr is the address a listener actually bound (Addr may use port 0).
func (p *Proxy) boundAddr(addr string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l, ok := p.listeners[addr]; ok {
		return l.ln.Addr().String()
	}
	return ""
}

func cloneConfig(c Config) Config {
	out := Config{Listeners: make([]Listener, len(c.Listeners))}
	if c.ACME != nil {
		a := *c.ACME
		out.ACME = &a
	}
	for i, l := range c.Listeners {
		if l.TLS != nil {
			t := *l.TLS
			l.TLS = &t
		}
		routes := make([]Route, len(l.Routes))
		for j, r := range l.Routes {
			r.Hosts = append([]string(nil), r.Hosts...)
			r.Backends = append([]Backend(nil), r.Backends...)
			if r.ACME != nil {
				a := *r.ACME
				r.ACME = &a
			}
			routes[j] = r
		}
		l.Routes = routes
		out.Listeners[i] = l
	}
	return out
}
