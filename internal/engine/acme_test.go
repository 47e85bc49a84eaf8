package engine

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/proxy"
)

// A stack's acme: settings travel on its tls: auto routes, over the
// daemon's: a stack naming its own directory brings its own roots (the
// daemon's are not inherited), a stack setting only an email keeps the
// daemon's directory and roots, a stack without settings uses the
// config's (the daemon's). Without daemon settings a stack's directory is
// enough. Bad stack settings fail Up before anything starts, leaving the
// routing as it was.
func TestRoutingTLSAutoStackACME(t *testing.T) {
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	router := &fakeRouter{}
	if err := e.SetRouter(context.Background(), router); err != nil {
		t.Fatal(err)
	}
	svc := func(name string, port int, host string, acme *model.ACMESettings) model.StackSpec {
		return model.StackSpec{Name: name, Services: []model.ServiceSpec{{Name: "web", Image: "web",
			Ports: []model.PortMapping{{HostIP: "127.0.0.1", HostPort: port, ContainerPort: 8080}},
			Proxy: &model.ProxyOptions{Protocol: "http", Hosts: []string{host}, TLSAuto: true, ACME: acme}}}}
	}
	route := func(addr, service string) proxy.Route {
		t.Helper()
		l, ok := router.listener(addr)
		if !ok {
			t.Fatalf("no listener %s", addr)
		}
		for _, r := range l.Routes {
			if r.Service == service {
				return r
			}
		}
		t.Fatalf("no route %s on %s", service, addr)
		return proxy.Route{}
	}

	// No daemon settings: the stack's directory is enough.
	own := &model.ACMESettings{Directory: "https://stack.example/dir", Email: "team@example.com", RenewBefore: time.Hour}
	if err := e.Up(context.Background(), svc("solo", 8443, "solo.example.com", &model.ACMESettings{Directory: "https://stack.example/dir"})); err != nil {
		t.Fatal(err)
	}
	if a := route("127.0.0.1:8443", "solo/web").ACME; a == nil || a.Directory != "https://stack.example/dir" || a.Port() != 80 {
		t.Fatalf("stack-only ACME %+v", a)
	}
	if err := e.Down(context.Background(), "solo", false); err != nil {
		t.Fatal(err)
	}

	daemonRoots, stackRoots := testRootPEM(t), testRootPEM(t)
	own.CARoots = stackRoots
	e.SetACME(&proxy.ACME{Directory: "https://daemon.example/dir", Email: "ops@example.com", CARoots: daemonRoots, HTTPPort: 8080})
	for _, s := range []model.StackSpec{
		svc("daemon", 8443, "daemon.example.com", nil),
		svc("emailonly", 9443, "email.example.com", &model.ACMESettings{Email: "team@example.com"}),
		svc("owndir", 10443, "own.example.com", own),
	} {
		if err := e.Up(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
	}
	if a := route("127.0.0.1:8443", "daemon/web").ACME; a != nil {
		t.Fatalf("a stack without acme: carries %+v", a)
	}
	if a := route("127.0.0.1:9443", "emailonly/web").ACME; a == nil || a.Directory != "https://daemon.example/dir" || a.Email != "team@example.com" || a.CARoots != daemonRoots || a.HTTPPort != 8080 {
		t.Fatalf("email-only stack ACME %+v", a)
	}
	if a := route("127.0.0.1:10443", "owndir/web").ACME; a == nil || a.Directory != own.Directory || a.Email != own.Email ||
		a.CARoots != stackRoots || a.RenewBefore != proxy.Duration(time.Hour) || a.HTTPPort != 8080 {
		t.Fatalf("own-directory stack ACME %+v", a)
	}
	router.mu.Lock()
	cfg := router.cfg
	router.mu.Unlock()
	if cfg.ACME == nil || cfg.ACME.Directory != "https://daemon.example/dir" {
		t.Fatalf("config ACME %+v", cfg.ACME)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the engine's config does not validate: %v", err)
	}

	// Bad stack settings: refused naming the service, nothing started,
	// the routing as it was.
	rt.mu.Lock()
	started := len(rt.starts)
	rt.mu.Unlock()
	bad := svc("bad", 11443, "bad.example.com", &model.ACMESettings{Directory: "http://plain.example/dir"})
	if err := e.Up(context.Background(), bad); err == nil || !strings.Contains(err.Error(), `service bad/web: acme: directory "http://plain.example/dir": want an https:// URL`) {
		t.Fatalf("an http directory: %v", err)
	}
	rt.mu.Lock()
	after := len(rt.starts)
	rt.mu.Unlock()
	if after != started {
		t.Fatalf("a refused deploy started %d containers", after-started)
	}
	if _, ok := router.listener("127.0.0.1:11443"); ok {
		t.Fatal("a refused deploy's listener was pushed")
	}
	// Roots go with their directory: a stack naming its own directory
	// does not inherit the daemon's, one setting only an email does.
	e.mu.Lock()
	e.acme.CARoots = daemonRoots
	a, _, errA := e.acmeFor("x/web", &model.ProxyOptions{TLSAuto: true, ACME: &model.ACMESettings{Directory: "https://stack.example/dir"}})
	b, _, errB := e.acmeFor("x/web", &model.ProxyOptions{TLSAuto: true, ACME: &model.ACMESettings{Email: "a@example.com"}})
	e.mu.Unlock()
	if errA != nil || errB != nil || a.CARoots != "" || b.CARoots != daemonRoots || b.Directory != "https://daemon.example/dir" {
		t.Fatalf("roots: own directory %+v (%v), email only %+v (%v)", a, errA, b, errB)
	}
}

// testRootPEM is a self-signed CA certificate, PEM.
func testRootPEM(t *testing.T) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
