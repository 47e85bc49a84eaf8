package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/berth-dev/berth/internal/proxy/pebbletest"
)

const acmeTestHost = "shop.berth.test"

// acmeChallengeServer answers HTTP-01 fetches for m on a free loopback port
// and returns the port.
func acmeChallengeServer(t *testing.T, m func() *certManager) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !m().serveChallenge(w, r) {
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

func newTestCertManager(t *testing.T, dir string, retry time.Duration) *certManager {
	t.Helper()
	m, err := newCertManager(certManagerOptions{Dir: dir, RetryMin: retry, RetryMax: 4 * retry, Log: slog.New(slog.NewTextHandler(testLogWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// testLogWriter sends the manager's log to the test's.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func setHosts(t *testing.T, m *certManager, cfg acmeConfig, hosts ...string) {
	t.Helper()
	set := map[string]acmeConfig{}
	for _, h := range hosts {
		set[h] = cfg
	}
	if err := m.Check(set); err != nil {
		t.Fatal(err)
	}
	m.Set(set)
}

func servedCert(t *testing.T, m *certManager) *tls.Certificate {
	t.Helper()
	c, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: acmeTestHost})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func verifyChain(t *testing.T, c *tls.Certificate, roots *x509.CertPool) {
	t.Helper()
	inter := x509.NewCertPool()
	for _, der := range c.Certificate[1:] {
		ic, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		inter.AddCert(ic)
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: acmeTestHost, Roots: roots, Intermediates: inter}); err != nil {
		t.Fatalf("the issued certificate does not verify against pebble's root: %v", err)
	}
}

// A certificate comes from the CA over HTTP-01, is stored 0600, and a
// restarted manager serves it again without asking the CA.
func TestObtainStoreAndRestartWithoutReissue(t *testing.T) {
	var m *certManager
	port := acmeChallengeServer(t, func() *certManager { return m })
	ca := pebbletest.Start(t, pebbletest.Options{HTTPPort: port})
	cfg := acmeConfig{Directory: ca.Directory(), Email: "ops@example.com", CARoots: ca.APIRoots()}
	dir := t.TempDir()
	m = newTestCertManager(t, dir, 100*time.Millisecond)
	setHosts(t, m, cfg, acmeTestHost)
	waitFor(t, "a certificate", 60*time.Second, func() bool { return m.status()[0].Serial != "" })
	c := servedCert(t, m)
	verifyChain(t, c, ca.IssuingRoots())
	if m.Issued() != 1 {
		t.Fatalf("issued %d certificates, want 1", m.Issued())
	}
	store := certStore{dir: dir}.ca(ca.Directory())
	for _, p := range []string{store.accountPath(cfg.Email), store.certPath(acmeTestHost)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	if st := m.status()[0]; st.Failures != 0 || st.LastError != "" || !st.RenewAt.After(time.Now()) {
		t.Fatalf("status after issuance: %+v", st)
	}

	// "Restart": a new manager on the same directory, the CA gone. It
	// serves the stored certificate at once and asks the CA nothing.
	m.Close()
	ca.Stop()
	m = newTestCertManager(t, dir, 100*time.Millisecond)
	setHosts(t, m, cfg, acmeTestHost)
	if got := servedCert(t, m); got.Leaf.SerialNumber.Cmp(c.Leaf.SerialNumber) != 0 {
		t.Fatalf("restarted manager serves serial %x, want the stored %x", got.Leaf.SerialNumber, c.Leaf.SerialNumber)
	}
	time.Sleep(300 * time.Millisecond) // would be 3 retries with the CA down
	if st := m.status()[0]; m.Issued() != 0 || st.Failures != 0 {
		t.Fatalf("a restart with a good stored certificate contacted the CA: issued %d, status %+v", m.Issued(), st)
	}
}

// A certificate due for renewal while the CA is unreachable is served
// on; the manager retries with backoff and renews once the CA is back.
func TestCAUnreachableKeepsCertificateAndRetries(t *testing.T) {
	var m *certManager
	port := acmeChallengeServer(t, func() *certManager { return m })
	// 12 s certificates are due for renewal after 6 s.
	ca := pebbletest.Start(t, pebbletest.Options{HTTPPort: port, Validity: 12 * time.Second})
	cfg := acmeConfig{Directory: ca.Directory(), CARoots: ca.APIRoots()}
	dir := t.TempDir()
	m = newTestCertManager(t, dir, 200*time.Millisecond)
	setHosts(t, m, cfg, acmeTestHost)
	waitFor(t, "a certificate", 60*time.Second, func() bool { return m.status()[0].Serial != "" })
	first := servedCert(t, m)
	m.Close()

	ca.Stop()
	m = newTestCertManager(t, dir, 200*time.Millisecond)
	setHosts(t, m, cfg, acmeTestHost)
	waitFor(t, "two failed renewals", 60*time.Second, func() bool { return m.status()[0].Failures >= 2 })
	st := m.status()[0]
	if got := servedCert(t, m); got.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) != 0 {
		t.Fatalf("with the CA down the manager serves %x, want the stored %x", got.Leaf.SerialNumber, first.Leaf.SerialNumber)
	}
	if st.LastError == "" || !st.NextAttempt.After(time.Now().Add(-time.Second)) {
		t.Fatalf("status with the CA down: %+v", st)
	}
	t.Logf("CA down: %d failures, last: %s", st.Failures, st.LastError)

	ca.Restart()
	waitFor(t, "a renewal once the CA is back", 60*time.Second, func() bool {
		return servedCert(t, m).Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) != 0
	})
	verifyChain(t, servedCert(t, m), ca.IssuingRoots())
	if st := m.status()[0]; st.Failures != 0 || st.LastError != "" {
		t.Fatalf("status after the renewal: %+v", st)
	}
}

func TestCertManagerCheckRefusesBadInput(t *testing.T) {
	good := acmeConfig{Directory: "https://acme.example.com/dir"}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	okDir := t.TempDir()
	for _, tc := range []struct {
		name  string
		dir   string
		cfg   acmeConfig
		hosts []string
		want  string
	}{
		{"wildcard", okDir, good, []string{"*.example.com"}, "DNS-01"},
		{"ip", okDir, good, []string{"10.0.0.1"}, "IP address"},
		{"single label", okDir, good, []string{"localhost"}, "fully qualified"},
		{"bad char", okDir, good, []string{"shop_1.example.com"}, `'_'`},
		{"email", okDir, acmeConfig{Directory: good.Directory, Email: "not an email"}, []string{"a.example.com"}, `email "not an email"`},
		{"email name", okDir, acmeConfig{Directory: good.Directory, Email: "Ops <ops@example.com>"}, []string{"a.example.com"}, "email"},
		{"http directory", okDir, acmeConfig{Directory: "http://acme.example.com/dir"}, []string{"a.example.com"}, "https://"},
		{"no directory", okDir, acmeConfig{}, []string{"a.example.com"}, "directory"},
		{"roots", okDir, acmeConfig{Directory: good.Directory, CARoots: "garbage"}, []string{"a.example.com"}, "caRoots"},
		{"unwritable dir", filepath.Join(file, "acme"), good, []string{"a.example.com"}, "certificate directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestCertManager(t, tc.dir, time.Second)
			set := map[string]acmeConfig{}
			for _, h := range tc.hosts {
				set[h] = tc.cfg
			}
			err := m.Check(set)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	m := newTestCertManager(t, okDir, time.Second)
	if err := m.Check(map[string]acmeConfig{"shop.example.com": {Directory: good.Directory, Email: "ops@example.com"}}); err != nil {
		t.Fatalf("good config: %v", err)
	}
}

func TestCertManagerUnknownHost(t *testing.T) {
	m := newTestCertManager(t, t.TempDir(), time.Hour)
	_, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "other.example.com"})
	if err == nil || !strings.Contains(err.Error(), "other.example.com") {
		t.Fatalf("unknown host: %v", err)
	}
}

func TestCertBackoffDoublesUpToMax(t *testing.T) {
	m := newTestCertManager(t, t.TempDir(), time.Second)
	for n := 1; n <= 6; n++ {
		d := m.backoff(n, nil)
		want := min(time.Second<<(n-1), 4*time.Second)
		if d < want*9/10 || d > want*11/10 {
			t.Fatalf("backoff after %d failures: %s, want %s ±10%%", n, d, want)
		}
	}
}

// A CA's rate-limit answer (its Retry-After) stretches the backoff, also
// when the error arrives wrapped with the step that failed.
func TestCertBackoffHonoursRetryAfter(t *testing.T) {
	m := newTestCertManager(t, t.TempDir(), time.Second)
	limited := fmt.Errorf("new order for a.example.com: %w", &acme.Error{StatusCode: 429,
		ProblemType: "urn:ietf:params:acme:error:rateLimited", Header: http.Header{"Retry-After": {"3600"}}})
	if d := m.backoff(1, limited); d < 54*time.Minute || d > 66*time.Minute {
		t.Fatalf("backoff after a rate limit with Retry-After 3600: %s", d)
	}
	if d := m.backoff(1, errors.New("connection refused")); d > 2*time.Second {
		t.Fatalf("backoff after a plain error: %s", d)
	}
}
