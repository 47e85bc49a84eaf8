package model

import "time"

// ProxyOptions are a service's proxy settings (x-berth-proxy).
type ProxyOptions struct {
	Protocol     string        `json:"protocol,omitempty"` // http or tcp (default: http)
	Hosts        []string      `json:"hosts,omitempty"`    // Host routing on a shared port
	Balance      string        `json:"balance,omitempty"`  // round_robin (default) or least_conn
	DrainTimeout time.Duration `json:"drainTimeout,omitempty"`
	TLSCert      string        `json:"tlsCert,omitempty"` // PEM files: terminate TLS
	TLSKey       string        `json:"tlsKey,omitempty"`
	// TLSAuto: certificates for Hosts from the daemon's ACME CA; the CA's
	// HTTP-01 port (80) redirects to HTTPS unless NoRedirect.
	TLSAuto    bool `json:"tlsAuto,omitempty"`
	NoRedirect bool `json:"noRedirect,omitempty"`
	// HSTS, when positive, is the Strict-Transport-Security max-age sent
	// over TLS.
	HSTS time.Duration `json:"hsts,omitempty"`
	// Timeouts bound each phase of an HTTP request (zero: the proxy's
	// defaults).
	Timeouts ProxyTimeouts `json:"timeouts,omitzero"`
	// BackendProtocol is what the proxy speaks to the replicas: "" or
	// http1 (HTTP/1.1), or h2c (HTTP/2 in clear text: gRPC servers).
	BackendProtocol string `json:"backendProtocol,omitempty"`
	// ACME, with TLSAuto, is the stack's acme: settings (berth.yaml):
	// where the certificates of Hosts come from. Keys left empty take the
	// daemon's (--acme-*); nil: the daemon's settings.
	ACME *ACMESettings `json:"acme,omitempty"`
}

// ACMESettings are a stack's acme: block, resolved (the environment's
// keys over the file's) and checked at load time.
type ACMESettings struct {
	Directory string `json:"directory,omitempty"` // https URL of the CA's ACME directory
	Email     string `json:"email,omitempty"`     // the account's contact
	// CARoots is the PEM of ca_roots: the roots trusted for the
	// directory's own HTTPS (a private CA); empty: the host's, or the
	// daemon's when Directory is empty too.
	CARoots     string        `json:"caRoots,omitempty"`
	Challenge   string        `json:"challenge,omitempty"`   // http-01 or tls-alpn-01
	RenewBefore time.Duration `json:"renewBefore,omitempty"` // renew with this much left
}

// ProxyTimeouts bound the phases of an HTTP request through the proxy
// (internal/proxy's Timeouts; zero: the proxy's default).
type ProxyTimeouts struct {
	ReadBody       time.Duration `json:"readBody,omitempty"`
	ResponseHeader time.Duration `json:"responseHeader,omitempty"`
	Write          time.Duration `json:"write,omitempty"`
}
