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
    x-berth-proxy: {hosts: [Shop.Example], balance: least_conn, drain_timeout: 5s, tls: {cert: c.pem, key: k.pem}}
  tcp:
    image: x
    x-berth-proxy: {protocol: tcp}
`})
	st, _ := load(t, LoadOptions{Files: []string{filepath.Join(dir, "berth.yaml")}})
	p := st.Service("web").Proxy
	if p == nil || p.Protocol != "http" || p.Hosts[0] != "shop.example" || p.Balance != "least_conn" || p.DrainTimeout != 5*time.Second ||
		p.TLSCert != filepath.Join(dir, "c.pem") || p.TLSKey != filepath.Join(dir, "k.pem") {
		t.Fatalf("proxy %+v", p)
	}
	if p := st.Service("tcp").Proxy; p == nil || p.Protocol != "tcp" {
		t.Fatalf("tcp proxy %+v", p)
	}
	raw, err := json.Marshal(st.Service("web"))
	if err != nil || !strings.Contains(string(raw), `"drain_timeout":"5s"`) {
		t.Fatalf("marshal: %s %v", raw, err)
	}
	for _, bad := range []string{"{protocol: udp}", "{hosts: [a/b]}", "{balance: random}", "{drain_timeout: soon}", "{tls: {cert: a}}", "{bogus: 1}", "{protocol: tcp, hosts: [a]}"} {
		dir := write(t, map[string]string{"berth.yaml": "services:\n  web:\n    image: x\n    x-berth-proxy: " + bad + "\n"})
		_, _, err := Load(context.Background(), LoadOptions{Files: []string{filepath.Join(dir, "berth.yaml")}})
		if err == nil || !strings.Contains(err.Error(), "services.web.x-berth-proxy") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
