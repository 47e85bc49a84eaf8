package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth-dev/berth/internal/proxy/pebbletest"
)

const autoHost = "shop.berth.test"

// autoEnv is a proxy with a TLS.Auto listener for autoHost, its plain
// listener on the port pebble validates HTTP-01 on, and the CA.
type autoEnv struct {
	ca        *pebbletest.CA
	cfg       Config
	dir       string
	httpPort  int
	httpsPort int
	backend   *testBackend
	reg       *prometheus.Registry // the last started proxy's
}

func newAutoEnv(t *testing.T, validity time.Duration) *autoEnv {
	t.Helper()
	e := &autoEnv{httpPort: pebbletest.FreePort(t), httpsPort: pebbletest.FreePort(t), dir: t.TempDir()}
	e.ca = pebbletest.Start(t, pebbletest.Options{HTTPPort: e.httpPort, Validity: validity})
	e.backend = startBackend(t, "a")
	route := Route{Service: "shop/web", Hosts: []string{autoHost}, Backends: []Backend{be("a", e.backend.addr(), true)}}
	redirect := route
	redirect.RedirectHTTPS = e.httpsPort
	e.cfg = Config{
		Listeners: []Listener{
			{Addr: "127.0.0.1:" + strconv.Itoa(e.httpPort), Mode: ModeHTTP, Routes: []Route{redirect}},
			{Addr: "127.0.0.1:" + strconv.Itoa(e.httpsPort), Mode: ModeHTTP, TLS: &TLS{Auto: true, HSTS: Duration(24 * time.Hour)}, Routes: []Route{route}},
		},
		ACME: &ACME{Directory: e.ca.Directory(), Email: "ops@example.com", CARoots: e.ca.APIRoots(), HTTPPort: e.httpPort},
	}
	return e
}

func (e *autoEnv) start(t *testing.T) *Proxy {
	t.Helper()
	e.reg = prometheus.NewRegistry()
	p := New(Options{CertDir: e.dir, Registerer: e.reg})
	p.acmeRetry = 200 * time.Millisecond
	t.Cleanup(func() { p.Close() })
	mustApply(t, p, e.cfg)
	return p
}

// client resolves every name to 127.0.0.1 (as challtestsrv does for
// pebble) and trusts pebble's issuing root.
func (e *autoEnv) client(t *testing.T, keepAlive bool) *http.Client {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: e.ca.IssuingRoots()},
		DisableKeepAlives: !keepAlive,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
	}}
}

func (e *autoEnv) url(path string) string {
	return fmt.Sprintf("https://%s:%d%s", autoHost, e.httpsPort, path)
}

func waitCertificate(t *testing.T, p *Proxy) CertStatus {
	t.Helper()
	waitFor(t, "a certificate from pebble", 60*time.Second, func() bool {
		c := p.Certificates()
		return len(c) == 1 && c[0].Serial != ""
	})
	return p.Certificates()[0]
}

// tls: auto end to end with a real ACME CA: the certificate is issued
// over HTTP-01 through the proxy's own plain listener, served by SNI and
// trusted through pebble's root; plain HTTP redirects to HTTPS; a proxy
// started again on the same directory serves the stored certificate and
// asks the CA for nothing.
func TestTLSAutoWithPebble(t *testing.T) {
	e := newAutoEnv(t, 0)
	p := e.start(t)
	st := waitCertificate(t, p)

	c := e.client(t, true)
	resp, err := c.Get(e.url("/echo-headers"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "X-Forwarded-Proto=https") {
		t.Fatalf("https: %d %s", resp.StatusCode, body)
	}
	if got := resp.TLS.PeerCertificates[0].SerialNumber.Text(16); got != st.Serial {
		t.Fatalf("served serial %s, status says %s", got, st.Serial)
	}
	if h := resp.Header.Get("Strict-Transport-Security"); h != "max-age=86400" {
		t.Fatalf("Strict-Transport-Security %q", h)
	}
	// Days to expiry as a gauge (pebble's default: 90-day certificates).
	if days, ok := metricValue(t, e.reg, "berth_proxy_tls_certificate_expiry_days", map[string]string{"host": autoHost}); !ok || days < 89 || days > 90.1 {
		t.Fatalf("berth_proxy_tls_certificate_expiry_days: %v %v", days, ok)
	}
	if n, ok := metricValue(t, e.reg, "berth_proxy_tls_certificate_failures", map[string]string{"host": autoHost}); !ok || n != 0 {
		t.Fatalf("berth_proxy_tls_certificate_failures: %v %v", n, ok)
	}

	// HTTP → HTTPS: 308 to the same path and query on the TLS port, and a
	// client that follows it lands on the service.
	noFollow := e.client(t, true)
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	plain := fmt.Sprintf("http://%s:%d/a/b?c=d", autoHost, e.httpPort)
	resp, err = noFollow.Get(plain)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := e.url("/a/b?c=d"); resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Fatalf("plain http: %d Location %q, want 308 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	if got := mustGet(t, c, plain); got != "a" {
		t.Fatalf("following the redirect: %q", got)
	}

	// A server name the listener does not route gets no certificate.
	raw, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", e.httpsPort), &tls.Config{ServerName: "other.berth.test", RootCAs: e.ca.IssuingRoots()})
	if err == nil {
		raw.Close()
		t.Fatal("handshake for an unrouted server name succeeded")
	}

	// curl, trusting pebble's root, if it is installed.
	if curl, err := exec.LookPath("curl"); err == nil {
		roots := filepath.Join(t.TempDir(), "roots.pem")
		if err := os.WriteFile(roots, e.ca.IssuingRootsPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(curl, "-sS", "--fail", "--cacert", roots, "--resolve", fmt.Sprintf("%s:%d:127.0.0.1", autoHost, e.httpsPort),
			"-L", "--resolve", fmt.Sprintf("%s:%d:127.0.0.1", autoHost, e.httpPort), plain).CombinedOutput()
		if err != nil || string(out) != "a" {
			t.Fatalf("curl: %v: %s", err, out)
		}
	}

	// Restart on the same directory: the stored certificate, no order.
	p.Close()
	p2 := e.start(t)
	if got := p2.Certificates(); len(got) != 1 || got[0].Serial != st.Serial {
		t.Fatalf("after a restart: %+v, want serial %s", got, st.Serial)
	}
	resp, err = e.client(t, false).Get(e.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.TLS.PeerCertificates[0].SerialNumber.Text(16); got != st.Serial {
		t.Fatalf("restarted proxy serves serial %s, want the stored %s", got, st.Serial)
	}
	if n := p2.acme.Load().Issued(); n != 0 {
		t.Fatalf("restarted proxy obtained %d certificates, want 0", n)
	}
}

// Renewal under load: 12-second certificates are renewed every ~6 s
// while clients open new TLS connections (each handshake picks up the
// certificate current then) and reuse old ones; no request fails.
func TestTLSAutoRenewalUnderLoad(t *testing.T) {
	e := newAutoEnv(t, 12*time.Second)
	p := e.start(t)
	first := waitCertificate(t, p)

	var ok, failed atomic.Int64
	var mu sync.Mutex
	serials := map[string]bool{}
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		c := e.client(t, i%2 == 0) // half new connections every request, half keep-alive
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Get(e.url("/"))
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(b) != "a" {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %s", resp.StatusCode, b))
					continue
				}
				ok.Add(1)
				mu.Lock()
				serials[resp.TLS.PeerCertificates[0].SerialNumber.Text(16)] = true
				mu.Unlock()
			}
		}()
	}
	waitFor(t, "a renewal served under load", 60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(serials) >= 2 && p.Certificates()[0].Serial != first.Serial
	})
	close(stop)
	wg.Wait()
	t.Logf("%d requests, %d failed, %d certificates served", ok.Load(), failed.Load(), len(serials))
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed during renewal; first: %v", failed.Load(), firstErr.Load())
	}
	if p.acme.Load().Issued() < 2 {
		t.Fatalf("issued %d certificates, want a renewal", p.acme.Load().Issued())
	}
}

// Bad tls: auto configs fail Apply with the field named, and nothing
// changes.
func TestTLSAutoRefusesBadConfig(t *testing.T) {
	b := startBackend(t, "a")
	httpAddr, tlsAddr := freeAddr(t), freeAddr(t)
	_, httpPort, _ := net.SplitHostPort(httpAddr)
	port, _ := strconv.Atoi(httpPort)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	good := func() Config {
		r := Route{Service: "s/web", Hosts: []string{"shop.example.com"}, Backends: []Backend{be("a", b.addr(), true)}}
		red := r
		red.RedirectHTTPS = 443
		return Config{
			Listeners: []Listener{
				{Addr: httpAddr, Mode: ModeHTTP, Routes: []Route{red}},
				{Addr: tlsAddr, Mode: ModeHTTP, TLS: &TLS{Auto: true}, Routes: []Route{r}},
			},
			ACME: &ACME{Directory: "https://127.0.0.1:1/dir", Email: "ops@example.com", HTTPPort: port},
		}
	}
	for _, tc := range []struct {
		name    string
		certDir string
		edit    func(*Config)
		want    string
	}{
		{"wildcard", "", func(c *Config) { c.Listeners[1].Routes[0].Hosts = []string{"*.example.com"} }, "DNS-01"},
		{"no hosts", "", func(c *Config) { c.Listeners[1].Routes[0].Hosts = nil }, "no hosts"},
		{"no acme", "", func(c *Config) { c.ACME = nil }, "no acme settings"},
		{"bad email", "", func(c *Config) { c.ACME.Email = "ops@" }, `email "ops@"`},
		{"no challenge listener", "", func(c *Config) { c.ACME.HTTPPort = 1 }, "no plain HTTP listener on port 1"},
		{"files and auto", "", func(c *Config) { c.Listeners[1].TLS.CertFile = "x.pem" }, "exclude each other"},
		{"redirect on tls", "", func(c *Config) { c.Listeners[1].Routes[0].RedirectHTTPS = 443 }, "only a plain HTTP listener"},
		{"no cert dir", "none", func(*Config) {}, "no certificate directory"},
		{"unwritable cert dir", filepath.Join(file, "acme"), func(*Config) {}, "certificate directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			switch tc.certDir {
			case "none":
				dir = ""
			case "":
			default:
				dir = tc.certDir
			}
			p := newTestProxy(t, Options{CertDir: dir})
			cfg := good()
			tc.edit(&cfg)
			err := p.Apply(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Apply: %v, want an error containing %q", err, tc.want)
			}
			if got := p.Config(); len(got.Listeners) != 0 || p.boundAddr(httpAddr) != "" {
				t.Fatalf("a refused config left state behind: %+v", got)
			}
		})
	}
}

// A plain listener answers the HTTP-01 tokens of challenges in progress
// (the fast path hands them over) and routes any other request under
// /.well-known/acme-challenge/ to its service like the rest.
func TestChallengeAnsweredOnPlainListener(t *testing.T) {
	b := startBackend(t, "a")
	httpAddr, tlsAddr := freeAddr(t), freeAddr(t)
	_, httpPort, _ := net.SplitHostPort(httpAddr)
	port, _ := strconv.Atoi(httpPort)
	r := Route{Service: "s/web", Hosts: []string{"shop.example.com"}, Backends: []Backend{be("a", b.addr(), true)}}
	p := newTestProxy(t, Options{CertDir: t.TempDir()})
	mustApply(t, p, Config{
		Listeners: []Listener{
			{Addr: httpAddr, Mode: ModeHTTP, Routes: []Route{r}},
			{Addr: tlsAddr, Mode: ModeHTTP, TLS: &TLS{Auto: true}, Routes: []Route{r}},
		},
		// Unreachable: no certificate comes, which this test does not need.
		ACME: &ACME{Directory: "https://127.0.0.1:1/dir", HTTPPort: port},
	})
	p.acme.Load().tokens.Store("tok123", "tok123.thumbprint")
	c := newClient()
	req, _ := http.NewRequest("GET", "http://"+httpAddr+"/.well-known/acme-challenge/tok123", nil)
	req.Host = "shop.example.com"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "tok123.thumbprint" {
		t.Fatalf("known token: %d %q", resp.StatusCode, body)
	}
	// Same connection (keep-alive, handed to net/http): an unknown token
	// and an ordinary request reach the service.
	for _, path := range []string{"/.well-known/acme-challenge/other", "/"} {
		req, _ := http.NewRequest("GET", "http://"+httpAddr+path, nil)
		req.Host = "shop.example.com"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "a" {
			t.Fatalf("%s: %d %q, want the service", path, resp.StatusCode, body)
		}
	}
}

// TLS-ALPN-01 (ACME.Challenge): the CA validates on the TLS-auto listener
// itself, so no plain HTTP listener is needed.
func TestTLSAutoALPNChallenge(t *testing.T) {
	tlsPort := pebbletest.FreePort(t)
	ca := pebbletest.Start(t, pebbletest.Options{HTTPPort: pebbletest.FreePort(t), TLSPort: tlsPort})
	b := startBackend(t, "a")
	p := New(Options{CertDir: t.TempDir()})
	p.acmeRetry = 200 * time.Millisecond
	t.Cleanup(func() { p.Close() })
	cfg := Config{
		Listeners: []Listener{{Addr: "127.0.0.1:" + strconv.Itoa(tlsPort), Mode: ModeHTTP, TLS: &TLS{Auto: true},
			Routes: []Route{{Service: "shop/web", Hosts: []string{autoHost}, Backends: []Backend{be("a", b.addr(), true)}}}}},
		ACME: &ACME{Directory: ca.Directory(), CARoots: ca.APIRoots(), Challenge: ChallengeTLSALPN01},
	}
	mustApply(t, p, cfg)
	st := waitCertificate(t, p)
	e := &autoEnv{ca: ca}
	resp, err := e.client(t, false).Get(fmt.Sprintf("https://%s:%d/", autoHost, tlsPort))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "a" || resp.TLS.PeerCertificates[0].SerialNumber.Text(16) != st.Serial {
		t.Fatalf("https after a TLS-ALPN-01 validation: %q", body)
	}
	// With HTTP-01 the same config lacks its plain listener.
	cfg.ACME.Challenge = ""
	if err := p.Apply(cfg); err == nil || !strings.Contains(err.Error(), "no plain HTTP listener") {
		t.Fatalf("http-01 without a plain listener: %v", err)
	}
	cfg.ACME.Challenge = "dns-01"
	if err := p.Apply(cfg); err == nil || !strings.Contains(err.Error(), `challenge "dns-01"`) {
		t.Fatalf("unknown challenge: %v", err)
	}
}
