package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// storedFile makes what certStore.save writes for host: a fresh key and
// a self-signed certificate.
func storedFile(t testing.TB, host string) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := certStore{dir: dir}
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
	if err := s.save(host, key, [][]byte{der}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(s.certPath(host))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The store reads back what it wrote; a file for another host, a key
// that does not match, or a link in place of the file is refused.
func TestCertStoreRoundTripAndRefusals(t *testing.T) {
	b := storedFile(t, "a.example.com")
	if _, err := parseStoredCertificate("a.example.com", b); err != nil {
		t.Fatal(err)
	}
	if _, err := parseStoredCertificate("b.example.com", b); err == nil {
		t.Fatal("a certificate for another host was accepted")
	}
	other := storedFile(t, "a.example.com")
	keyOnly := b[:strings.Index(string(b), "-----BEGIN CERTIFICATE")]
	certOnly := other[strings.Index(string(other), "-----BEGIN CERTIFICATE"):]
	if _, err := parseStoredCertificate("a.example.com", append(append([]byte{}, keyOnly...), certOnly...)); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("mismatched key: %v", err)
	}
	dir := t.TempDir()
	s := certStore{dir: dir}
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "elsewhere.pem")
	os.WriteFile(target, b, 0o600)
	if err := os.Symlink(target, s.certPath("a.example.com")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.load("a.example.com"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a symlink: %v", err)
	}
	if c, err := s.load("missing.example.com"); c != nil || err != nil {
		t.Fatalf("missing: %v %v", c, err)
	}
}

func FuzzParseStoredCertificate(f *testing.F) {
	f.Add(storedFile(f, "a.example.com"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseStoredCertificate("a.example.com", b)
		if err == nil && (c.Leaf == nil || c.PrivateKey == nil) {
			t.Fatal("accepted without a leaf and a key")
		}
	})
}
