package proxy

import (
	"bytes"
	"crypto/tls"
	"sync/atomic"
	"time"
)

const defaultDrainTimeout = 30 * time.Second

// listenerState is the immutable routing snapshot of one listener. Apply
// builds a new one and swaps it in atomically; requests read it without
// locks. changed is closed when the snapshot is replaced, which wakes
// requests waiting for a Ready backend.
type listenerState struct {
	addr string
	mode string
	cert *tls.Certificate // the file certificate; nil: plain or auto
	tls  bool             // TLS: cert, or auto
	auto bool             // certificates by SNI from the proxy's ACME manager
	hsts []string         // Strict-Transport-Security value on TLS answers; nil: none
	// hstsLine is hsts as a header line (CRLF-terminated) for the fast
	// paths; "" without.
	hstsLine string
	// Some requests on this plain listener are the proxy's own; the fast
	// path hands them to ServeHTTP. challenges: HTTP-01 fetches (the
	// proxy has an ACME manager); redirects: some route redirects to HTTPS.
	challenges, redirects bool
	routes                []*route
	// h2c: some route speaks HTTP/2 to its backends (h2c.go).
	h2c bool
	// write is the longest write timeout of the routes: answers sent
	// before a route is known (404) use it.
	write   time.Duration
	byHost  map[string]*route
	def     *route // the route with no Hosts, if any
	changed chan struct{}
}

// timeouts are a route's Timeouts with the defaults filled in.
type timeouts struct{ readBody, responseHeader, write time.Duration }

func resolveTimeouts(t Timeouts) timeouts {
	t = t.withDefaults()
	return timeouts{time.Duration(t.ReadBody), time.Duration(t.ResponseHeader), time.Duration(t.Write)}
}

// route resolves the Host header to a route; nil when none matches.
func (s *listenerState) route(host string) *route {
	if len(s.byHost) == 0 {
		return s.def
	}
	if r, ok := s.byHost[normalizeHost(host)]; ok {
		return r
	}
	return s.def
}

// intercepts reports whether a request the fast path parsed is the
// proxy's own to answer (ServeHTTP does): an HTTP-01 challenge, a
// route that redirects to HTTPS, or one whose backends speak h2c.
func (s *listenerState) intercepts(req *reqHead) bool {
	if s.challenges && bytes.HasPrefix(req.target, challengePrefix) {
		return true
	}
	if !s.redirects && !s.h2c {
		return false
	}
	r := s.route(string(req.host))
	return r != nil && (r.redirect > 0 || r.h2c)
}

var challengePrefix = []byte(acmeChallengePrefix)

// route is one service on a listener with its Ready backends.
type route struct {
	cfg          Route
	leastConn    bool
	drainTimeout time.Duration
	timeouts     timeouts
	all          []*backend // in config order, for Status
	ready        []*backend
	rr           atomic.Uint64
	m            *serviceMetrics // nil without metrics
	redirect     int             // RedirectHTTPS: answer with a redirect to https on this port
	h2c          bool            // BackendProtocol h2c: forwardH2C, never the fast path
}

// pick chooses a Ready backend not yet tried by this request (tried is a
// bit set over indexes into ready). Backends whose dial failed recently are
// used only when nothing else is left. nil: no candidate.
func (r *route) pick(tried uint64) (*backend, int) {
	n := len(r.ready)
	if n == 0 {
		return nil, -1
	}
	start := int(r.rr.Add(1) % uint64(n))
	now := time.Now().UnixNano()
	fallback, fallbackIdx := (*backend)(nil), -1
	var best *backend
	bestIdx := -1
	var bestLoad int64
	for i := 0; i < n; i++ {
		j := start + i
		if j >= n {
			j -= n
		}
		if tried&bit(j) != 0 {
			continue
		}
		b := r.ready[j]
		if b.failed(now) {
			if fallback == nil {
				fallback, fallbackIdx = b, j
			}
			continue
		}
		if !r.leastConn {
			return b, j
		}
		if load := b.inflight.Load(); best == nil || load < bestLoad {
			best, bestIdx, bestLoad = b, j, load
		}
	}
	if best != nil {
		return best, bestIdx
	}
	return fallback, fallbackIdx
}

// bit maps a backend index to the tried set; beyond 64 backends indexes
// share bits, which only means a few are skipped early.
func bit(i int) uint64 { return 1 << (uint(i) & 63) }
