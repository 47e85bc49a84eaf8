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
	Protocol     string        `json:"protocol"`                // http (default) or tcp
	Hosts        []string      `json:"hosts,omitempty"`         // route by Host on a shared port
	Balance      string        `json:"balance,omitempty"`       // round_robin (default) or least_conn
	DrainTimeout time.Duration `json:"drain_timeout,omitempty"` // default 30 s
	TLSCert      string        `json:"tls_cert,omitempty"`      // absolute
	TLSKey       string        `json:"tls_key,omitempty"`       // absolute
}

// parseProxy reads a service's x-berth-proxy value (as compose-go decoded
// it). Paths are resolved against the project directory.
func parseProxy(v any, dir string) (*Proxy, error) {
	if v == nil {
		return &Proxy{Protocol: "http"}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a mapping (protocol, hosts, balance, drain_timeout, tls)")
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
		case "tls":
			t, ok := val.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("tls: want {cert: FILE, key: FILE}")
			}
			cert, _ := t["cert"].(string)
			key, _ := t["key"].(string)
			if cert == "" || key == "" || len(t) != 2 {
				return nil, fmt.Errorf("tls: want exactly cert: and key: (PEM files)")
			}
			p.TLSCert, p.TLSKey = absIn(dir, cert), absIn(dir, key)
		default:
			return nil, fmt.Errorf("unknown field %q (protocol, hosts, balance, drain_timeout, tls)", k)
		}
	}
	if p.Protocol == "tcp" && (len(p.Hosts) > 0 || p.TLSCert != "") {
		return nil, fmt.Errorf("hosts and tls need protocol http")
	}
	return p, nil
}

func absIn(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}
