package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key and returns
// the file names and a pool trusting it.
func selfSigned(t testing.TB) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "berth proxy test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLSListener(t *testing.T) {
	b := startBackend(t, "a")
	certFile, keyFile, pool := selfSigned(t)
	p := newTestProxy(t, Options{})
	addr := freeAddr(t)
	cfg := httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", b.addr(), true)}})
	cfg.Listeners[0].TLS = &TLS{CertFile: certFile, KeyFile: keyFile}
	mustApply(t, p, cfg)

	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get("https://" + addr + "/echo-headers")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "X-Forwarded-Proto=https") {
		t.Fatalf("https: %d %s", resp.StatusCode, body)
	}

	// A missing key file fails Apply, names the file, and HTTPS goes on.
	bad := httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", b.addr(), true)}})
	missing := filepath.Join(t.TempDir(), "nope.pem")
	bad.Listeners[0].TLS = &TLS{CertFile: certFile, KeyFile: missing}
	if err := p.Apply(bad); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Apply with a missing key: %v", err)
	}
	if code, _, err := get(c, "https://"+addr+"/"); err != nil || code != 200 {
		t.Fatalf("https after failed Apply: %d %v", code, err)
	}

	// The same address can switch to plain HTTP without rebinding.
	mustApply(t, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", b.addr(), true)}}))
	if got := mustGet(t, newClient(), "http://"+addr+"/"); got != "a" {
		t.Fatalf("plain http after dropping TLS: %q", got)
	}
}
