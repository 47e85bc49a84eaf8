package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Default backoff bounds after a failed attempt: the first retry comes
// after a minute, each further one waits twice as long, up to an hour
// (or longer when the CA says so with Retry-After).
const (
	acmeRetryMin = time.Minute
	acmeRetryMax = time.Hour
)

// certManagerOptions configure a certManager.
type certManagerOptions struct {
	// Dir holds the account key and the certificates (created 0700).
	Dir string
	Log *slog.Logger
	// Registerer gets the certificate gauges; nil: no metrics.
	Registerer prometheus.Registerer
	// RetryMin and RetryMax bound the backoff after a failed attempt
	// (zero: acmeRetryMin, acmeRetryMax).
	RetryMin, RetryMax time.Duration
}

// certManager obtains, stores, renews and serves the certificates of a set of
// host names, each from its own CA (acmeConfig): the proxy's, or the one
// its stack names. Its methods are safe for concurrent use.
type certManager struct {
	log                *slog.Logger
	store              certStore
	retryMin, retryMax time.Duration

	mu     sync.RWMutex
	hosts  map[string]*certHost
	closed bool
	wg     sync.WaitGroup

	// accounts holds a registered client per (directory, email, roots),
	// made when first needed; acctMu guards the map only (a registration
	// may wait on a slow CA for a minute: it holds its account's lock).
	acctMu   sync.Mutex
	accounts map[acmeAccountID]*acmeAccount

	tokens    sync.Map // HTTP-01 token -> key authorization
	alpnCerts sync.Map // host -> *tls.Certificate: its TLS-ALPN-01 challenge in progress

	issued atomic.Int64 // certificates obtained from the CA (tests count them)

	legacyOnce sync.Once // adoptLegacy
}

// host is one host name's certificate and its renewal loop.
type certHost struct {
	name   string
	cert   atomic.Pointer[tls.Certificate]
	cancel context.CancelFunc
	wake   chan struct{} // a config change: look again now
	// cfg is the CA and account the host's certificates come from
	// (guarded by certManager.mu; a new Directory makes a new certHost).
	cfg acmeConfig
	// foreign: the certificate in hand came from another CA (the host
	// moved to this one): it is served until this CA's is obtained, at once.
	foreign atomic.Bool

	mu       sync.Mutex
	lastErr  string
	failures int
	next     time.Time // next attempt, when one is scheduled
}

// New returns a certManager with no hosts.
func newCertManager(o certManagerOptions) (*certManager, error) {
	if o.Dir == "" {
		return nil, errors.New("tls auto: a certificate directory is required")
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m := &certManager{
		log:      log,
		store:    certStore{dir: o.Dir},
		retryMin: o.RetryMin,
		retryMax: o.RetryMax,
		hosts:    map[string]*certHost{},
		accounts: map[acmeAccountID]*acmeAccount{},
	}
	if m.retryMin <= 0 {
		m.retryMin = acmeRetryMin
	}
	if m.retryMax < m.retryMin {
		m.retryMax = max(acmeRetryMax, m.retryMin)
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(certCollector{m}); err != nil {
			log.Warn("acme certificate metrics not registered", "err", err)
		}
	}
	return m, nil
}

// Check validates each host and its config and makes sure the
// certificate directories are writable, without changing anything: what
// Set will do cannot fail for a reason Check could have found. Errors
// name the field or host.
func (m *certManager) Check(hosts map[string]acmeConfig) error {
	checked := map[string]bool{}
	for _, h := range slices.Sorted(maps.Keys(hosts)) {
		if err := ValidateACMEHost(h); err != nil {
			return err
		}
		cfg := hosts[h]
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("acme (host %s): %w", h, err)
		}
		if !checked[cfg.Directory] {
			checked[cfg.Directory] = true
			if err := m.store.ca(cfg.Directory).check(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Set makes hosts the managed set, each under its config (Check them
// first): new hosts load their stored certificate from their CA's part of
// the store (no CA contact while it is good) or get one; a host whose
// CA changed starts again under the new one (its stored certificate from
// that CA, or a new one at once); hosts no longer listed stop renewing
// (their files stay).
func (m *certManager) Set(hosts map[string]acmeConfig) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(hosts)) {
		cfg := hosts[name]
		old := m.hosts[name]
		if old != nil && old.cfg.Directory == cfg.Directory {
			if old.cfg != cfg {
				old.cfg = cfg
				select { // the renewal window or the account may have changed
				case old.wake <- struct{}{}:
				default:
				}
			}
			continue
		}
		h := &certHost{name: name, cfg: cfg, wake: make(chan struct{}, 1)}
		c, err := m.store.ca(cfg.Directory).load(name)
		switch {
		case err != nil:
			m.log.Error("ignoring a stored certificate; getting a new one", "host", name, "directory", cfg.Directory, "err", err)
		case c != nil:
			h.cert.Store(c)
			m.log.Info("stored certificate loaded", "host", name, "directory", cfg.Directory, "notAfter", c.Leaf.NotAfter)
		}
		if old != nil {
			old.cancel()
			if c == nil {
				if oc := old.cert.Load(); oc != nil {
					h.cert.Store(oc) // served until the new CA's is in hand
					h.foreign.Store(true)
				}
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		h.cancel = cancel
		m.hosts[name] = h
		m.wg.Add(1)
		go func() { defer m.wg.Done(); m.run(ctx, h) }()
	}
	for name, h := range m.hosts {
		if _, ok := hosts[name]; !ok {
			h.cancel()
			delete(m.hosts, name)
		}
	}
	m.pruneAccountsLocked()
}

// adoptLegacy moves a store of the layout before one directory per CA
// into the part of the proxy's own CA (a, Config.ACME; nil: nothing to
// do), once; a failure is logged, the hosts then get new certificates.
func (m *certManager) adoptLegacy(a *ACME) {
	if a == nil {
		return
	}
	m.legacyOnce.Do(func() {
		if err := m.store.adoptLegacy(a.Directory, a.Email); err != nil {
			m.log.Error("moving the certificates stored before per-CA directories", "err", err)
		}
	})
}

// Close stops every renewal loop and waits for them.
func (m *certManager) Close() {
	m.mu.Lock()
	m.closed = true
	for _, h := range m.hosts {
		h.cancel()
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// Hosts reports whether name is managed.
func (m *certManager) Has(name string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.hosts[name] != nil
}

// GetCertificate is a tls.Config.GetCertificate: the certificate of the
// client's SNI host name.
func (m *certManager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if isTLSALPNChallenge(hello) {
		if c, ok := m.alpnCerts.Load(name); ok {
			return c.(*tls.Certificate), nil
		}
		return nil, fmt.Errorf("tls auto: no TLS-ALPN-01 challenge in progress for %q", name)
	}
	m.mu.RLock()
	h := m.hosts[name]
	m.mu.RUnlock()
	if h == nil {
		if name == "" {
			return nil, errors.New("tls auto: the client sent no server name (SNI)")
		}
		return nil, fmt.Errorf("tls auto: no certificate for host %q (not a tls: auto host)", name)
	}
	if c := h.cert.Load(); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("tls auto: the certificate of %s has not been issued yet", name)
}

// Issued counts the certificates obtained from the CA since New.
func (m *certManager) Issued() int64 { return m.issued.Load() }

// CertStatus is one host's certificate as it stands.
type CertStatus struct {
	Host string `json:"host"`
	// Directory is the ACME directory of the CA the host's certificates
	// come from.
	Directory string    `json:"directory,omitempty"`
	NotBefore time.Time `json:"notBefore,omitzero"` // zero: none yet
	NotAfter  time.Time `json:"notAfter,omitzero"`
	Serial    string    `json:"serial,omitempty"`
	Issuer    string    `json:"issuer,omitempty"`
	RenewAt   time.Time `json:"renewAt,omitzero"`
	// LastError is the last failed attempt's error since the last
	// success, Failures how many attempts failed in a row, NextAttempt
	// when the next one is due (zero: none scheduled before RenewAt).
	LastError   string    `json:"lastError,omitempty"`
	Failures    int       `json:"failures,omitempty"`
	NextAttempt time.Time `json:"nextAttempt,omitzero"`
}

// status reports every managed host, sorted by name.
func (m *certManager) status() []CertStatus {
	m.mu.RLock()
	names := slices.Sorted(maps.Keys(m.hosts))
	hosts := make([]*certHost, len(names))
	for i, n := range names {
		hosts[i] = m.hosts[n]
	}
	cfgs := make([]acmeConfig, len(hosts))
	for i, h := range hosts {
		cfgs[i] = h.cfg
	}
	m.mu.RUnlock()
	out := make([]CertStatus, 0, len(hosts))
	for i, h := range hosts {
		s := CertStatus{Host: h.name, Directory: cfgs[i].Directory}
		if c := h.cert.Load(); c != nil {
			s.NotBefore, s.NotAfter = c.Leaf.NotBefore, c.Leaf.NotAfter
			s.Serial = c.Leaf.SerialNumber.Text(16)
			s.Issuer = c.Leaf.Issuer.CommonName
			s.RenewAt = certRenewAt(c, cfgs[i].RenewBefore)
			if h.foreign.Load() {
				s.RenewAt = time.Time{} // due now
			}
		}
		h.mu.Lock()
		s.LastError, s.Failures, s.NextAttempt = h.lastErr, h.failures, h.next
		h.mu.Unlock()
		out = append(out, s)
	}
	return out
}

// renewAt is when c is due for renewal: RenewBefore (default 30 days)
// before it expires, or half its lifetime before when that is shorter.
func certRenewAt(c *tls.Certificate, renewBefore time.Duration) time.Time {
	if renewBefore <= 0 {
		renewBefore = DefaultACMERenewBefore
	}
	life := c.Leaf.NotAfter.Sub(c.Leaf.NotBefore)
	return c.Leaf.NotAfter.Add(-min(renewBefore, life/2))
}

// certMaxSleep bounds one wait, so a clock that jumps is noticed.
const certMaxSleep = 12 * time.Hour

// run keeps h's certificate current until ctx ends: it waits until the
// certificate is due, gets a new one, and after a failure waits with
// exponential backoff (the certificate in hand is served meanwhile).
func (m *certManager) run(ctx context.Context, h *certHost) {
	for {
		m.mu.RLock()
		rb := h.cfg.RenewBefore
		m.mu.RUnlock()
		if c := h.cert.Load(); c != nil && !h.foreign.Load() {
			if wait := time.Until(certRenewAt(c, rb)); wait > 0 {
				if !sleepOrWake(ctx, h.wake, min(wait, certMaxSleep)) {
					return
				}
				continue
			}
		}
		err := m.obtain(ctx, h)
		if ctx.Err() != nil {
			return
		}
		h.mu.Lock()
		if err == nil {
			h.lastErr, h.failures, h.next = "", 0, time.Time{}
			h.mu.Unlock()
			continue
		}
		h.failures++
		delay := m.backoff(h.failures, err)
		h.lastErr, h.next = err.Error(), time.Now().Add(delay)
		n := h.failures
		h.mu.Unlock()
		m.log.Warn("getting a certificate failed; retrying", "host", h.name, "failures", n, "retryIn", delay.Round(time.Millisecond), "err", err)
		if !sleepOrWake(ctx, nil, delay) {
			return
		}
	}
}

// backoff is the wait after the n-th failure in a row: retryMin doubled
// per failure up to retryMax, at least what a rate-limited CA asked for,
// with ±10% jitter so many hosts do not retry in step.
func (m *certManager) backoff(n int, err error) time.Duration {
	d := m.retryMin
	for i := 1; i < n && d < m.retryMax; i++ {
		d *= 2
	}
	d = min(d, m.retryMax)
	if ra, ok := acmeRetryAfter(err); ok && ra > d {
		d = ra
	}
	return d + time.Duration((rand.Float64()-0.5)*0.2*float64(d))
}

func sleepOrWake(ctx context.Context, wake <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-wake:
		return true
	case <-t.C:
		return true
	}
}
