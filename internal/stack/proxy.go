package stack

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// extProxy is the service key for berth's proxy settings. It is an x- key
// so compose files that carry it stay valid for docker compose too.
const extProxy = "x-berth-proxy"

// Proxy is how berth's proxy serves a service's published TCP ports. A
// service without x-berth-proxy is proxied as plain TCP; with it, as HTTP
// (unless protocol: tcp) — which adds Host routing, retries of requests a
// failed replica never answered, TLS termination and per-request metrics.
type Proxy struct {
	Protocol     string         `json:"protocol"`                // http (default) or tcp
	Hosts        []string       `json:"hosts,omitempty"`         // route by Host on a shared port
	Balance      string         `json:"balance,omitempty"`       // round_robin (default) or least_conn
	DrainTimeout time.Duration  `json:"drain_timeout,omitempty"` // default 30 s
	TLSCert      string         `json:"tls_cert,omitempty"`      // absolute
	TLSKey       string         `json:"tls_key,omitempty"`       // absolute
	TLSAuto      bool           `json:"tls_auto,omitempty"`      // tls: auto — certificates from the daemon's ACME CA
	NoRedirect   bool           `json:"no_redirect,omitempty"`   // tls: {auto: true, redirect: false}
	HSTS         time.Duration  `json:"hsts,omitempty"`          // Strict-Transport-Security max-age
	Timeouts     *ProxyTimeouts `json:"timeouts,omitempty"`      // nil: the proxy's defaults
	// BackendProtocol is what the proxy speaks to the replicas: http1
	// (the default, "") or h2c (HTTP/2 in clear text: gRPC servers).
	BackendProtocol string `json:"backend_protocol,omitempty"`
}

// ProxyTimeouts bound the phases of an HTTP request (x-berth-proxy
// timeouts); zero fields take the proxy's defaults (60 s each).
type ProxyTimeouts struct {
	ReadBody       time.Duration // wait for the client's next request body bytes
	ResponseHeader time.Duration // wait for the backend's response head
	Write          time.Duration // wait for the client to take the next answer bytes
}

// proxyFields lists x-berth-proxy's fields for error messages.
const proxyFields = "protocol, hosts, balance, drain_timeout, timeouts, tls, backend_protocol"

// parseTimeouts reads x-berth-proxy timeouts: {read_body, response_header, write}.
func parseTimeouts(v any) (*ProxyTimeouts, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("timeouts: want a mapping (read_body, response_header, write)")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t := &ProxyTimeouts{}
	for _, k := range keys {
		var dst *time.Duration
		switch k {
		case "read_body":
			dst = &t.ReadBody
		case "response_header":
			dst = &t.ResponseHeader
		case "write":
			dst = &t.Write
		default:
			return nil, fmt.Errorf("timeouts: unknown field %q (read_body, response_header, write)", k)
		}
		s, _ := m[k].(string)
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("timeouts.%s %v: want a positive duration like 60s", k, m[k])
		}
		*dst = d
	}
	return t, nil
}

// parseProxy reads a service's x-berth-proxy value (as compose-go decoded
// it). Paths are resolved against the project directory.
func parseProxy(v any, dir string) (*Proxy, error) {
	if v == nil {
		return &Proxy{Protocol: "http"}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a mapping (%s)", proxyFields)
	}
	p := &Proxy{Protocol: "http"}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := m[k]
		switch k {
		case "protocol":
			s, _ := val.(string)
			if s != "http" && s != "tcp" {
				return nil, fmt.Errorf("protocol %v: want http or tcp", val)
			}
			p.Protocol = s
		case "hosts":
			list, ok := val.([]any)
			if !ok {
				return nil, fmt.Errorf("hosts: want a list of host names")
			}
			for _, h := range list {
				s, _ := h.(string)
				s = strings.ToLower(strings.TrimSpace(s))
				if s == "" || strings.ContainsAny(s, "/: ") {
					return nil, fmt.Errorf("hosts: %q is not a host name", h)
				}
				p.Hosts = append(p.Hosts, s)
			}
		case "balance":
			s, _ := val.(string)
			if s != "round_robin" && s != "least_conn" {
				return nil, fmt.Errorf("balance %v: want round_robin or least_conn", val)
			}
			p.Balance = s
		case "drain_timeout":
			s, _ := val.(string)
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("drain_timeout %v: want a positive duration like 30s", val)
			}
			p.DrainTimeout = d
		case "timeouts":
			t, err := parseTimeouts(val)
			if err != nil {
				return nil, err
			}
			p.Timeouts = t
		case "tls":
			if err := parseTLS(p, val, dir); err != nil {
				return nil, err
			}
		case "backend_protocol":
			s, _ := val.(string)
			if s != "http1" && s != "h2c" {
				return nil, fmt.Errorf("backend_protocol %v: want http1 or h2c", val)
			}
			p.BackendProtocol = s
		default:
			return nil, fmt.Errorf("unknown field %q (%s)", k, proxyFields)
		}
	}
	if p.Protocol == "tcp" && (len(p.Hosts) > 0 || p.TLSCert != "" || p.TLSAuto || p.Timeouts != nil) {
		return nil, fmt.Errorf("hosts, timeouts and tls need protocol http")
	}
	if p.Protocol == "tcp" && p.BackendProtocol != "" {
		return nil, fmt.Errorf("backend_protocol %s needs protocol http", p.BackendProtocol)
	}
	if p.TLSAuto {
		if len(p.Hosts) == 0 {
			return nil, fmt.Errorf("tls: auto needs hosts: (the names the certificate is for)")
		}
		for _, h := range p.Hosts {
			if strings.HasPrefix(h, "*.") {
				return nil, fmt.Errorf("tls: auto: host %q is a wildcard, which needs the DNS-01 challenge berth does not do; list the host names", h)
			}
		}
	}
	return p, nil
}

// parseTLS reads x-berth-proxy tls: "auto", {auto: true, redirect: BOOL,
// hsts: DURATION} or {cert: FILE, key: FILE, hsts: DURATION}.
func parseTLS(p *Proxy, val any, dir string) error {
	const want = "want auto, {auto: true, redirect: false, hsts: 8760h} or {cert: FILE, key: FILE}"
	if s, ok := val.(string); ok {
		if s != "auto" {
			return fmt.Errorf("tls %q: %s", s, want)
		}
		p.TLSAuto = true
		return nil
	}
	t, ok := val.(map[string]any)
	if !ok {
		return fmt.Errorf("tls: %s", want)
	}
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	redirect := true
	for _, k := range keys {
		v := t[k]
		switch k {
		case "cert", "key":
			s, _ := v.(string)
			if s == "" {
				return fmt.Errorf("tls.%s: want a PEM file", k)
			}
			if k == "cert" {
				p.TLSCert = absIn(dir, s)
			} else {
				p.TLSKey = absIn(dir, s)
			}
		case "auto":
			b, ok := v.(bool)
			if !ok {
				return fmt.Errorf("tls.auto %v: want true or false", v)
			}
			p.TLSAuto = b
		case "redirect":
			b, ok := v.(bool)
			if !ok {
				return fmt.Errorf("tls.redirect %v: want true or false", v)
			}
			redirect = b
		case "hsts":
			s, _ := v.(string)
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				return fmt.Errorf("tls.hsts %v: want a positive duration like 8760h", v)
			}
			p.HSTS = d
		default:
			return fmt.Errorf("tls: unknown field %q (auto, redirect, hsts, cert, key)", k)
		}
	}
	switch {
	case p.TLSAuto && (p.TLSCert != "" || p.TLSKey != ""):
		return fmt.Errorf("tls: auto and cert/key exclude each other")
	case !p.TLSAuto && (p.TLSCert == "" || p.TLSKey == ""):
		return fmt.Errorf("tls: want both cert: and key: (PEM files), or auto: true")
	case !p.TLSAuto && !redirect:
		return fmt.Errorf("tls.redirect: only with auto: true (the CA's port 80 redirects to HTTPS)")
	}
	p.NoRedirect = !redirect
	return nil
}

func absIn(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}
