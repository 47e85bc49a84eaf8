package proxy

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	okRoute := Route{Service: "s/web", Backends: []Backend{{ID: "a", Addr: "10.0.0.2:80", Ready: true}}}
	cases := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" = valid
	}{
		{"empty", Config{}, ""},
		{"http", Config{Listeners: []Listener{{Addr: "0.0.0.0:80", Mode: ModeHTTP, Routes: []Route{okRoute}}}}, ""},
		{"tcp", Config{Listeners: []Listener{{Addr: ":5432", Mode: ModeTCP, Routes: []Route{okRoute}}}}, ""},
		{"no backends yet", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{{Service: "s/web"}}}}}, ""},
		{"bad mode", Config{Listeners: []Listener{{Addr: ":80", Mode: "udp", Routes: []Route{okRoute}}}}, `mode "udp"`},
		{"bad addr", Config{Listeners: []Listener{{Addr: "80", Mode: ModeHTTP, Routes: []Route{okRoute}}}}, "addr"},
		{"bad port", Config{Listeners: []Listener{{Addr: ":http", Mode: ModeHTTP, Routes: []Route{okRoute}}}}, "port"},
		{"dup addr", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{okRoute}}, {Addr: ":80", Mode: ModeHTTP, Routes: []Route{okRoute}}}}, "twice"},
		{"tcp two routes", Config{Listeners: []Listener{{Addr: ":5432", Mode: ModeTCP, Routes: []Route{okRoute, okRoute}}}}, "exactly 1 route"},
		{"tcp tls", Config{Listeners: []Listener{{Addr: ":5432", Mode: ModeTCP, TLS: &TLS{CertFile: "c", KeyFile: "k"}, Routes: []Route{okRoute}}}}, "tls"},
		{"tcp hosts", Config{Listeners: []Listener{{Addr: ":5432", Mode: ModeTCP, Routes: []Route{{Service: "s/db", Hosts: []string{"x"}}}}}}, "hosts"},
		{"tls without key", Config{Listeners: []Listener{{Addr: ":443", Mode: ModeHTTP, TLS: &TLS{CertFile: "c"}, Routes: []Route{okRoute}}}}, "keyFile"},
		{"no routes", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP}}}, "at least one route"},
		{"no service", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{{}}}}}, "service is empty"},
		{"bad balance", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{{Service: "s/web", Balance: "random"}}}}}, `balance "random"`},
		{"empty id", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{{Service: "s/web", Backends: []Backend{{Addr: "10.0.0.2:80"}}}}}}}, "id is empty"},
		{"dup id", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{{Service: "s/web", Backends: []Backend{{ID: "a", Addr: "10.0.0.2:80"}, {ID: "a", Addr: "10.0.0.3:80"}}}}}}}, `id "a" is listed twice`},
		{"backend no host", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{{Service: "s/web", Backends: []Backend{{ID: "a", Addr: ":80"}}}}}}}, "host is empty"},
		{"backend port 0", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{{Service: "s/web", Backends: []Backend{{ID: "a", Addr: "10.0.0.2:0"}}}}}}}, "port 0"},
		{"negative drain", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{{Service: "s/web", DrainTimeout: -1}}}}}, "negative"},
		{"negative body timeout", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{{Service: "s/web", Timeouts: Timeouts{ReadBody: -1}}}}}}, "routes[0] (s/web): timeouts.readBody -1ns is negative"},
		{"negative header timeout", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{{Service: "s/web", Timeouts: Timeouts{ResponseHeader: -1}}}}}}, "timeouts.responseHeader -1ns is negative"},
		{"negative write timeout", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{{Service: "s/web", Timeouts: Timeouts{Write: -1}}}}}}, "timeouts.write -1ns is negative"},
		{"h2c", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{{Service: "s/grpc", BackendProtocol: BackendH2C}}}}}, ""},
		{"http1", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{{Service: "s/web", BackendProtocol: BackendHTTP1}}}}}, ""},
		{"bad backend protocol", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{{Service: "s/web", BackendProtocol: "h2"}}}}}, `routes[0] (s/web): backendProtocol "h2": want "http1" or "h2c"`},
		{"tcp h2c", Config{Listeners: []Listener{{Addr: ":5432", Mode: ModeTCP, Routes: []Route{{Service: "s/db", BackendProtocol: BackendH2C}}}}}, `routes[0].backendProtocol "h2c": only mode http`},
		{"dup host", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{
			{Service: "s/api", Hosts: []string{"api.example.com"}},
			{Service: "s/web", Hosts: []string{"API.example.com:80"}}}}}}, "s/api and s/web"},
		{"two defaults", Config{Listeners: []Listener{{Addr: ":80", Mode: ModeHTTP, Routes: []Route{{Service: "s/api"}, {Service: "s/web"}}}}}, "s/api and s/web"},
		{"same host other listener", Config{Listeners: []Listener{
			{Addr: ":80", Mode: ModeHTTP, Routes: []Route{{Service: "s/api", Hosts: []string{"x"}}}},
			{Addr: ":81", Mode: ModeHTTP, Routes: []Route{{Service: "s/web", Hosts: []string{"x"}}}}}}, ""},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", c.name, err)
		case c.want != "" && err == nil:
			t.Errorf("%s: no error, want %q", c.name, c.want)
		case c.want != "" && !strings.Contains(err.Error(), c.want):
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
		}
	}
}

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{
		"example.com":      "example.com",
		"Example.COM:8080": "example.com",
		"example.com.":     "example.com",
		"[::1]:80":         "[::1]",
		"[::1]":            "[::1]",
		"::1":              "::1",
		"10.0.0.1:80":      "10.0.0.1",
	} {
		if got := normalizeHost(in); got != want {
			t.Errorf("normalizeHost(%q) = %q, want %q", in, got, want)
		}
	}
}
