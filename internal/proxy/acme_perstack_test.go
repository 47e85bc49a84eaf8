package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proxy/pebbletest"
)

// Per-stack CAs end to end with two real pebbles (different roots,
// different ports): a route with its own ACME settings (a stack's acme:)
// gets its host's certificate from that CA, a route without from the
// proxy's (the daemon's flags); each chain verifies against its own CA's
// issuing root only; each CA's account and certificate live under that
// CA's part of the store; a proxy started again on the same directory,
// both CAs gone, serves both certificates and asks for nothing.
func TestTLSAutoPerStackCAWithPebble(t *testing.T) {
	httpPort, httpsPort := pebbletest.FreePort(t), pebbletest.FreePort(t)
	caDaemon := pebbletest.Start(t, pebbletest.Options{HTTPPort: httpPort})
	caStack := pebbletest.Start(t, pebbletest.Options{HTTPPort: httpPort})
	const hostDaemon, hostStack = "daemon.berth.test", "stack.berth.test"
	backend := startBackend(t, "a")
	web := Route{Service: "a/web", Hosts: []string{hostDaemon}, Backends: []Backend{be("a", backend.addr(), true)}}
	api := Route{Service: "b/api", Hosts: []string{hostStack}, Backends: []Backend{be("b", backend.addr(), true)},
		ACME: &ACME{Directory: caStack.Directory(), Email: "team@example.com", CARoots: caStack.APIRoots(), HTTPPort: httpPort}}
	cfg := Config{
		Listeners: []Listener{
			{Addr: "127.0.0.1:" + strconv.Itoa(httpPort), Mode: ModeHTTP, Routes: []Route{
				{Service: "a/web", Hosts: []string{hostDaemon}, RedirectHTTPS: httpsPort, Backends: []Backend{}},
				{Service: "b/api", Hosts: []string{hostStack}, RedirectHTTPS: httpsPort, Backends: []Backend{}}}},
			{Addr: "127.0.0.1:" + strconv.Itoa(httpsPort), Mode: ModeHTTP, TLS: &TLS{Auto: true}, Routes: []Route{web, api}},
		},
		ACME: &ACME{Directory: caDaemon.Directory(), Email: "ops@example.com", CARoots: caDaemon.APIRoots(), HTTPPort: httpPort},
	}
	dir := t.TempDir()
	start := func() *Proxy {
		p := New(Options{CertDir: dir})
		p.acmeRetry = 200 * time.Millisecond
		t.Cleanup(func() { p.Close() })
		mustApply(t, p, cfg)
		return p
	}
	p := start()
	waitFor(t, "two certificates", 60*time.Second, func() bool {
		c := p.Certificates()
		return len(c) == 2 && c[0].Serial != "" && c[1].Serial != ""
	})
	byHost := map[string]CertStatus{}
	for _, c := range p.Certificates() {
		byHost[c.Host] = c
	}
	if byHost[hostDaemon].Directory != caDaemon.Directory() || byHost[hostStack].Directory != caStack.Directory() {
		t.Fatalf("status directories: %+v", byHost)
	}

	// Each host's served chain verifies against its own CA's issuing
	// root, and not against the other's.
	rootsDaemon, rootsStack := caDaemon.IssuingRoots(), caStack.IssuingRoots()
	served := func(host string) []*x509.Certificate {
		t.Helper()
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", "127.0.0.1:"+strconv.Itoa(httpsPort),
			&tls.Config{ServerName: host, InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates
	}
	verifies := func(chain []*x509.Certificate, host string, roots *x509.CertPool) bool {
		inter := x509.NewCertPool()
		for _, c := range chain[1:] {
			inter.AddCert(c)
		}
		_, err := chain[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter})
		return err == nil
	}
	serials := map[string]string{}
	for _, tc := range []struct {
		host       string
		own, other *x509.CertPool
		ownName    string
	}{
		{hostDaemon, rootsDaemon, rootsStack, "the daemon's CA"},
		{hostStack, rootsStack, rootsDaemon, "the stack's CA"},
	} {
		chain := served(tc.host)
		if !verifies(chain, tc.host, tc.own) {
			t.Fatalf("%s: the served chain does not verify against %s's root", tc.host, tc.ownName)
		}
		if verifies(chain, tc.host, tc.other) {
			t.Fatalf("%s: the served chain verifies against the other CA's root too (the CAs mixed)", tc.host)
		}
		serials[tc.host] = chain[0].SerialNumber.Text(16)
	}

	// One account per CA, each under its CA's part of the store; the
	// certificates likewise, never under the other CA's.
	store := certStore{dir: dir}
	for _, tc := range []struct{ directory, email, host, otherHost string }{
		{caDaemon.Directory(), "ops@example.com", hostDaemon, hostStack},
		{caStack.Directory(), "team@example.com", hostStack, hostDaemon},
	} {
		s := store.ca(tc.directory)
		for _, f := range []string{s.accountPath(tc.email), s.certPath(tc.host)} {
			if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s: %v %v", f, fi, err)
			}
		}
		if _, err := os.Stat(s.certPath(tc.otherHost)); err == nil {
			t.Fatalf("%s's certificate is stored under the CA of %s", tc.otherHost, tc.directory)
		}
	}
	if store.ca(caDaemon.Directory()).dir == store.ca(caStack.Directory()).dir {
		t.Fatal("the two CAs share a store directory")
	}

	// Restart, both CAs gone: both stored certificates are served again,
	// nothing is issued.
	p.Close()
	caDaemon.Stop()
	caStack.Stop()
	p2 := start()
	for host, serial := range serials {
		if got := served(host)[0].SerialNumber.Text(16); got != serial {
			t.Fatalf("%s after the restart: serial %s, want the stored %s", host, got, serial)
		}
	}
	if n := p2.acme.Load().Issued(); n != 0 {
		t.Fatalf("the restarted proxy got %d certificates, want 0", n)
	}
	// Nothing is due: no renewal is scheduled before RenewAt, months ahead.
	for _, c := range p2.Certificates() {
		if c.Failures != 0 || !c.RenewAt.After(time.Now().Add(24*time.Hour)) {
			t.Fatalf("the restarted proxy has %s due: %+v", c.Host, c)
		}
	}
}

// A route's own ACME settings are validated like the config's, naming
// the route; a host has one CA; a route with settings needs no
// config-wide ones.
func TestTLSAutoPerStackACMERefusals(t *testing.T) {
	a := &ACME{Directory: "https://a.example.com/dir"}
	b := &ACME{Directory: "https://b.example.com/dir"}
	cfg := func(r1, r2 *ACME, daemon *ACME) Config {
		return Config{Listeners: []Listener{
			{Addr: "127.0.0.1:8080", Mode: ModeHTTP, Routes: []Route{{Service: "x/redirect", Backends: []Backend{}}}},
			{Addr: "127.0.0.1:8443", Mode: ModeHTTP, TLS: &TLS{Auto: true}, Routes: []Route{
				{Service: "a/web", Hosts: []string{"shop.example.com"}, ACME: r1, Backends: []Backend{}},
			}},
			{Addr: "127.0.0.1:9443", Mode: ModeHTTP, TLS: &TLS{Auto: true}, Routes: []Route{
				{Service: "b/web", Hosts: []string{"Shop.example.com"}, ACME: r2, Backends: []Backend{}},
			}},
		}, ACME: daemon}
	}
	port := func(a *ACME) *ACME { c := *a; c.HTTPPort = 8080; return &c }
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"two CAs for one host", cfg(port(a), port(b), nil), `host "shop.example.com" gets certificates from https://b.example.com/dir here and from https://a.example.com/dir for a/web`},
		{"stack CA and daemon CA for one host", cfg(port(b), nil, port(a)), "a host has one CA"},
		{"other email for one host", cfg(port(a), &ACME{Directory: a.Directory, Email: "x@example.com", HTTPPort: 8080}, nil), "other acme settings"},
		{"bad route directory", cfg(&ACME{Directory: "http://a.example.com/dir", HTTPPort: 8080}, port(a), nil), `routes[0] (a/web): acme: directory "http://a.example.com/dir": want an https:// URL`},
		{"bad route email", cfg(&ACME{Directory: a.Directory, Email: "nope", HTTPPort: 8080}, port(a), nil), `routes[0] (a/web): acme: email "nope"`},
		{"no settings", cfg(port(a), nil, nil), "listeners[2] (127.0.0.1:9443): tls auto: no acme settings"},
		{"no challenge listener", cfg(a, port(a), nil), "no plain HTTP listener on port 80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if err := cfg(port(a), port(a), nil).Validate(); err != nil {
		t.Fatalf("one CA per host, set on the routes only: %v", err)
	}
	if err := cfg(nil, nil, port(a)).Validate(); err != nil {
		t.Fatalf("the daemon's CA: %v", err)
	}
	hosts := cfg(port(b), nil, port(a))
	hosts.Listeners = hosts.Listeners[:2]
	if got := hosts.autoHosts(); len(got) != 1 || got["shop.example.com"].Directory != b.Directory {
		t.Fatalf("autoHosts: %+v, want shop.example.com from the route's CA", got)
	}
}

// A store of the layout before one directory per CA (certs/<host>.pem and
// account.key at the top) is moved into the part of the proxy's own CA
// (the daemon's) at the first Apply: the stored certificate is served at
// once and nothing is ordered (the CA here cannot even be reached).
func TestTLSAutoAdoptsLegacyStore(t *testing.T) {
	const host = "legacy.example.com"
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	stored := storedFile(t, host)
	if err := os.WriteFile(filepath.Join(dir, "certs", host+".pem"), stored, 0o600); err != nil {
		t.Fatal(err)
	}
	keyPEM := stored[:strings.Index(string(stored), "-----BEGIN CERTIFICATE")]
	if err := os.WriteFile(filepath.Join(dir, "account.key"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	httpPort, httpsPort := pebbletest.FreePort(t), pebbletest.FreePort(t)
	acme := &ACME{Directory: "https://127.0.0.1:1/dir", Email: "ops@example.com", HTTPPort: httpPort}
	cfg := Config{Listeners: []Listener{
		{Addr: "127.0.0.1:" + strconv.Itoa(httpPort), Mode: ModeHTTP, Routes: []Route{{Service: "a/web", Hosts: []string{host}, RedirectHTTPS: httpsPort, Backends: []Backend{}}}},
		{Addr: "127.0.0.1:" + strconv.Itoa(httpsPort), Mode: ModeHTTP, TLS: &TLS{Auto: true}, Routes: []Route{{Service: "a/web", Hosts: []string{host}, Backends: []Backend{}}}},
	}, ACME: acme}
	p := New(Options{CertDir: dir})
	t.Cleanup(func() { p.Close() })
	mustApply(t, p, cfg)
	if c := p.Certificates(); len(c) != 1 || c[0].Serial != "7" || c[0].Directory != acme.Directory {
		t.Fatalf("certificates after adopting the legacy store: %+v", c)
	}
	s := certStore{dir: dir}.ca(acme.Directory)
	for _, f := range []string{s.certPath(host), s.accountPath(acme.Email)} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, fi, err)
		}
	}
	for _, f := range []string{filepath.Join(dir, "certs"), filepath.Join(dir, "account.key")} {
		if _, err := os.Lstat(f); err == nil {
			t.Fatalf("%s is still there", f)
		}
	}
	if n := p.acme.Load().Issued(); n != 0 {
		t.Fatalf("issued %d", n)
	}
}
