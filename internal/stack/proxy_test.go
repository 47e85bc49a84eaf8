package stack

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBerthProxyExtension(t *testing.T) {
	dir := write(t, map[string]string{"berth.yaml": `services:
  web:
    image: x
    ports: ["127.0.0.1:8080:80"]
    x-berth-proxy: {hosts: [Shop.Example], balance: least_conn, drain_timeout: 5s, timeouts: {read_body: 10s, response_header: 2m, write: 500ms}, tls: {cert: c.pem, key: k.pem}, backend_protocol: h2c}
  tcp:
    image: x
    x-berth-proxy: {protocol: tcp}
`})
	st, _ := load(t, LoadOptions{Files: []string{filepath.Join(dir, "berth.yaml")}})
	p := st.Service("web").Proxy
	if p == nil || p.Protocol != "http" || p.Hosts[0] != "shop.example" || p.Balance != "least_conn" || p.DrainTimeout != 5*time.Second ||
		p.TLSCert != filepath.Join(dir, "c.pem") || p.TLSKey != filepath.Join(dir, "k.pem") || p.BackendProtocol != "h2c" {
		t.Fatalf("proxy %+v", p)
	}
	if to := p.Timeouts; to == nil || *to != (ProxyTimeouts{ReadBody: 10 * time.Second, ResponseHeader: 2 * time.Minute, Write: 500 * time.Millisecond}) {
		t.Fatalf("timeouts %+v", p.Timeouts)
	}
	if p := st.Service("tcp").Proxy; p == nil || p.Protocol != "tcp" {
		t.Fatalf("tcp proxy %+v", p)
	}
	raw, err := json.Marshal(st.Service("web"))
	if err != nil || !strings.Contains(string(raw), `"drain_timeout":"5s"`) || !strings.Contains(string(raw), `"timeouts":{"read_body":"10s","response_header":"2m0s","write":"500ms"}`) {
		t.Fatalf("marshal: %s %v", raw, err)
	}
	var back Service
	if err := json.Unmarshal(raw, &back); err != nil || back.Proxy == nil || back.Proxy.Timeouts == nil || *back.Proxy.Timeouts != *p.Timeouts || back.Proxy.BackendProtocol != "h2c" {
		t.Fatalf("unmarshal %s: %+v %v", raw, back.Proxy, err)
	}
	// Bad timeouts are named with their value.
	for bad, want := range map[string]string{
		"{timeouts: {read_body: soon}}":          "timeouts.read_body soon: want a positive duration",
		"{timeouts: {write: -1s}}":               "timeouts.write -1s: want a positive duration",
		"{timeouts: {response_header: 0s}}":      "timeouts.response_header 0s",
		"{timeouts: {idle: 1s}}":                 `timeouts: unknown field "idle"`,
		"{timeouts: 5s}":                         "timeouts: want a mapping",
		"{protocol: tcp, timeouts: {write: 1s}}": "timeouts and tls need protocol http",
		"{backend_protocol: grpc}":               "backend_protocol grpc: want http1 or h2c",
		"{backend_protocol: [h2c]}":              "backend_protocol [h2c]: want http1 or h2c",
		"{protocol: tcp, backend_protocol: h2c}": "backend_protocol h2c needs protocol http",
	} {
		dir := write(t, map[string]string{"berth.yaml": "services:\n  web:\n    image: x\n    x-berth-proxy: " + bad + "\n"})
		_, _, err := Load(context.Background(), LoadOptions{Files: []string{filepath.Join(dir, "berth.yaml")}})
		if err == nil || !strings.Contains(err.Error(), "services.web.x-berth-proxy") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", bad, err, want)
		}
	}
	for _, bad := range []string{"{protocol: udp}", "{hosts: [a/b]}", "{balance: random}", "{drain_timeout: soon}", "{tls: {cert: a}}", "{bogus: 1}", "{protocol: tcp, hosts: [a]}"} {
		dir := write(t, map[string]string{"berth.yaml": "services:\n  web:\n    image: x\n    x-berth-proxy: " + bad + "\n"})
		_, _, err := Load(context.Background(), LoadOptions{Files: []string{filepath.Join(dir, "berth.yaml")}})
		if err == nil || !strings.Contains(err.Error(), "services.web.x-berth-proxy") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestBerthProxyTLSAuto(t *testing.T) {
	for src, want := range map[string]Proxy{
		"{hosts: [shop.example.com], tls: auto}": {Protocol: "http", Hosts: []string{"shop.example.com"}, TLSAuto: true},
		"{hosts: [shop.example.com], tls: {auto: true, redirect: false, hsts: 8760h}}": {Protocol: "http", Hosts: []string{"shop.example.com"},
			TLSAuto: true, NoRedirect: true, HSTS: 8760 * time.Hour},
	} {
		dir := write(t, map[string]string{"berth.yaml": "services:\n  web:\n    image: x\n    ports: [\"443:80\"]\n    x-berth-proxy: " + src + "\n"})
		st, _ := load(t, LoadOptions{Files: []string{filepath.Join(dir, "berth.yaml")}})
		got := st.Service("web").Proxy
		if got == nil || got.TLSAuto != want.TLSAuto || got.NoRedirect != want.NoRedirect || got.HSTS != want.HSTS || got.Hosts[0] != want.Hosts[0] {
			t.Fatalf("%s: %+v", src, got)
		}
		raw, _ := json.Marshal(got)
		var back Proxy
		if err := json.Unmarshal(raw, &back); err != nil || back.TLSAuto != want.TLSAuto || back.HSTS != want.HSTS || back.NoRedirect != want.NoRedirect {
			t.Fatalf("%s: round trip %s: %+v %v", src, raw, back, err)
		}
	}
	for bad, want := range map[string]string{
		"{tls: auto}":                                                "tls: auto needs hosts",
		"{hosts: ['*.example.com'], tls: auto}":                      "DNS-01",
		"{hosts: [a.example.com], tls: manual}":                      `tls "manual"`,
		"{hosts: [a.example.com], tls: {auto: yes!}}":                "tls.auto",
		"{tls: {auto: true, cert: a.pem}}":                           "exclude each other",
		"{tls: {cert: a.pem, key: b.pem, redirect: false}}":          "tls.redirect: only with auto",
		"{hosts: [a.example.com], tls: {auto: true, hsts: forever}}": "tls.hsts forever",
		"{hosts: [a.example.com], tls: {auto: true, acme: x}}":       `tls: unknown field "acme"`,
		"{protocol: tcp, tls: auto}":                                 "need protocol http",
	} {
		dir := write(t, map[string]string{"berth.yaml": "services:\n  web:\n    image: x\n    x-berth-proxy: " + bad + "\n"})
		_, _, err := Load(context.Background(), LoadOptions{Files: []string{filepath.Join(dir, "berth.yaml")}})
		if err == nil || !strings.Contains(err.Error(), "services.web.x-berth-proxy") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", bad, err, want)
		}
	}
}
