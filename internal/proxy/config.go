// Package proxy is berth's built-in reverse proxy: for every published TCP
// port of a stack it listens on the host and sends traffic to the service's
// ready replicas (round robin or least connections), takes replicas that are
// not ready or are draining out of rotation, lets in-flight requests finish
// when a replica is drained, routes several services on one port by Host,
// terminates TLS with certificates from files or obtained and renewed from
// an ACME CA (acme_*.go), redirects HTTP to HTTPS, and counts
// everything in Prometheus metrics labelled by service.
//
// The proxy runs as its own process (`berth proxy`, started by the daemon,
// internal/proxy/proxyd) so published ports keep answering while the daemon
// restarts; the daemon pushes the whole desired Config on every change.
package proxy

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/berth-dev/berth/internal/acmecheck"
)

// Listener modes.
const (
	ModeHTTP = "http" // HTTP/1.1 reverse proxy: Host routing, retries, TLS, per-request metrics
	ModeTCP  = "tcp"  // plain TCP: one backend per connection
)

// Balancing policies.
const (
	RoundRobin = "round_robin" // default
	LeastConn  = "least_conn"
)

// Config is the proxy's whole desired state. Apply replaces the previous one.
type Config struct {
	Listeners []Listener `json:"listeners"`
	// DNS lists the stack networks' name servers. The `berth proxy`
	// process hosts them (internal/proxy/proxyd), so containers resolve
	// service names while no daemon runs; the reverse proxy ignores them.
	DNS []DNSZone `json:"dns,omitempty"`
	// ACME is where listeners with TLS.Auto get their certificates; nil:
	// no automatic certificates.
	ACME *ACME `json:"acme,omitempty"`
}

// ACME configures automatic certificates (TLS.Auto) from a CA speaking
// RFC 8555, validated over HTTP-01 on a plain HTTP listener.
type ACME struct {
	Directory string `json:"directory"`         // https URL of the CA's ACME directory
	Email     string `json:"email,omitempty"`   // the account's contact
	CARoots   string `json:"caRoots,omitempty"` // PEM roots for the directory's HTTPS; empty: the host's
	// RenewBefore: renew with this much left (0: 30 days; at most half
	// a certificate's lifetime).
	RenewBefore Duration `json:"renewBefore,omitempty"`
	// HTTPPort is the port the CA fetches HTTP-01 answers from (0: 80).
	// A plain HTTP listener on it must be in the config whenever a
	// listener has TLS.Auto; every plain HTTP listener answers them.
	HTTPPort int `json:"httpPort,omitempty"`
	// Challenge is how the CA validates a host: ChallengeHTTP01 (the
	// default) or ChallengeTLSALPN01, answered by the TLS.Auto listeners
	// themselves (the CA connects to port 443 of the host; no plain HTTP
	// listener is needed).
	Challenge string `json:"challenge,omitempty"`
}

// ACME challenge types.
const (
	ChallengeHTTP01    = acmecheck.ChallengeHTTP01
	ChallengeTLSALPN01 = acmecheck.ChallengeTLSALPN01
)

// ChallengeType is Challenge or its default.
func (a *ACME) ChallengeType() string {
	if a == nil || a.Challenge == "" {
		return ChallengeHTTP01
	}
	return a.Challenge
}

// DefaultACMEHTTPPort is where a CA validates HTTP-01 challenges.
const DefaultACMEHTTPPort = 80

// Port is HTTPPort or its default.
func (a *ACME) Port() int {
	if a == nil || a.HTTPPort == 0 {
		return DefaultACMEHTTPPort
	}
	return a.HTTPPort
}

// DNSZone is one stack network's resolver: it listens on Addr (the
// network's gateway, port 53), answers the unqualified or
// Domain-qualified names in Names (lower case: services and containers)
// with their addresses, and forwards other names to the host's resolvers.
type DNSZone struct {
	Addr   string              `json:"addr"`
	Domain string              `json:"domain"`
	Names  map[string][]string `json:"names,omitempty"`
}

// Listener is one host address the proxy listens on.
type Listener struct {
	Addr string `json:"addr"` // host:port, e.g. 127.0.0.1:8080 or 0.0.0.0:80
	Mode string `json:"mode"` // ModeHTTP or ModeTCP
	TLS  *TLS   `json:"tls,omitempty"`
	// Routes: ModeTCP has exactly one; ModeHTTP chooses by the request's
	// Host (without port, case-insensitive); a route with no Hosts is the
	// default for hosts no other route names.
	Routes []Route `json:"routes"`
}

// TLS terminates TLS on an HTTP listener with a certificate and key file
// (PEM), or (Auto) with certificates the proxy gets from Config.ACME for
// the hosts of the listener's routes, chosen by the client's SNI. Files
// are read at Apply, so a renewed file takes effect on the next Apply;
// automatic certificates are renewed by the proxy itself.
type TLS struct {
	CertFile string `json:"certFile,omitempty"`
	KeyFile  string `json:"keyFile,omitempty"`
	Auto     bool   `json:"auto,omitempty"`
	// HSTS, when positive, sends Strict-Transport-Security with this
	// max-age on every answer.
	HSTS Duration `json:"hsts,omitempty"`
}

// Route sends a listener's traffic (for some hosts) to one service.
type Route struct {
	Service      string    `json:"service"` // "<stack>/<service>": metrics label and error messages
	Hosts        []string  `json:"hosts,omitempty"`
	Balance      string    `json:"balance,omitempty"`      // RoundRobin (default) or LeastConn
	DrainTimeout Duration  `json:"drainTimeout,omitempty"` // 0 = 30 s
	Timeouts     Timeouts  `json:"timeouts,omitzero"`
	Backends     []Backend `json:"backends"`
	// RedirectHTTPS, on a plain HTTP listener, answers the route's
	// requests with a permanent redirect to https on this port (443: no
	// port in the URL) instead of forwarding them; Backends may be empty.
	// HTTP-01 challenges are answered before it.
	RedirectHTTPS int `json:"redirectHTTPS,omitempty"`
	// ACME, on a route of a TLS.Auto listener, is where its hosts'
	// certificates come from (its stack's acme: settings); nil:
	// Config.ACME. A host has one CA: two routes naming it must agree.
	ACME *ACME `json:"acme,omitempty"`
	// BackendProtocol is what the route speaks to its backends:
	// BackendHTTP1 (the default) or BackendH2C (gRPC servers).
	BackendProtocol string `json:"backendProtocol,omitempty"`
}

// Backend protocols of an HTTP route (Route.BackendProtocol).
const (
	BackendHTTP1 = "http1" // HTTP/1.1, the default
	// BackendH2C is HTTP/2 in clear text with prior knowledge (RFC 9113
	// 3.3): streams, trailers and full-duplex bodies, as gRPC needs.
	BackendH2C = "h2c"
)

// Timeouts bound the phases of an HTTP request, so a slow or stalled
// client or backend holds a backend connection (and a drain) no longer
// than its own timeout. Zero fields take the defaults (DefaultTimeouts).
// Reading a request head (30 s) and idle keep-alive connections (2 min)
// have fixed limits.
type Timeouts struct {
	// ReadBody: the longest wait for the next bytes of the client's
	// request body (nginx client_body_timeout). Past it the client gets
	// 408 and its connection is closed.
	ReadBody Duration `json:"readBody,omitempty"`
	// ResponseHeader: the longest wait for the backend's response head
	// once the request was sent (nginx proxy_read_timeout, kamal-proxy
	// --target-timeout). Past it the client gets 504.
	ResponseHeader Duration `json:"responseHeader,omitempty"`
	// Write: the longest wait for the client to take the next bytes of
	// the answer (nginx send_timeout). Past it the connection is closed.
	Write Duration `json:"write,omitempty"`
}

// DefaultTimeouts are the Timeouts a route gets for zero fields.
var DefaultTimeouts = Timeouts{
	ReadBody:       Duration(60 * time.Second),
	ResponseHeader: Duration(60 * time.Second),
	Write:          Duration(60 * time.Second),
}

// withDefaults fills zero fields from DefaultTimeouts.
func (t Timeouts) withDefaults() Timeouts {
	if t.ReadBody <= 0 {
		t.ReadBody = DefaultTimeouts.ReadBody
	}
	if t.ResponseHeader <= 0 {
		t.ResponseHeader = DefaultTimeouts.ResponseHeader
	}
	if t.Write <= 0 {
		t.Write = DefaultTimeouts.Write
	}
	return t
}

// Backend is one replica of a service.
type Backend struct {
	ID   string `json:"id"`   // container ID
	Addr string `json:"addr"` // ip:port
	// Ready false: running but not healthy yet, or being drained: it gets
	// no new requests or connections; those in flight go on.
	Ready bool `json:"ready"`
}

// Duration is a time.Duration that reads and writes as "30s" in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
