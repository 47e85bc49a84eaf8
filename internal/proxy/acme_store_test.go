package proxy

import (
	"crypto"
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
	s := certStore{dir: t.TempDir()}.ca("https://ca.example.com/dir")
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
	s := certStore{dir: dir}.ca("https://ca.example.com/dir")
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

// Two CA directories never share a directory — not even on one host and
// port, nor when their URLs differ only in what the name keeps of them —
// and two emails at one CA never share an account key. Keys are 0600 and
// read back, not made again.
func TestCertStoreKeysByCAAndAccount(t *testing.T) {
	root := certStore{dir: t.TempDir()}
	dirs := []string{
		"https://acme-staging-v02.api.letsencrypt.org/directory",
		"https://acme-v02.api.letsencrypt.org/directory",
		"https://127.0.0.1:14000/dir",
		"https://127.0.0.1:14000/dir2",
		"https://127.0.0.1:14001/dir",
		"https://../../etc/dir",
	}
	seen := map[string]string{}
	for _, d := range dirs {
		s := root.ca(d)
		if prev, ok := seen[s.dir]; ok {
			t.Fatalf("%s and %s share %s", prev, d, s.dir)
		}
		seen[s.dir] = d
		if filepath.Dir(filepath.Dir(s.dir)) != root.dir || strings.Contains(filepath.Base(s.dir), "/") || strings.HasPrefix(filepath.Base(s.dir), ".") {
			t.Fatalf("%s: store dir %s is not a plain name under %s/ca", d, s.dir, root.dir)
		}
		if err := s.check(); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(s.dir, "directory")); err != nil || string(b) != d+"\n" {
			t.Fatalf("%s: directory file %q %v", d, b, err)
		}
	}
	s := root.ca(dirs[0])
	k1, err := s.accountKey("ops@example.com")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := s.accountKey("other@example.com")
	if err != nil {
		t.Fatal(err)
	}
	k0, err := s.accountKey("")
	if err != nil {
		t.Fatal(err)
	}
	if k1.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k2.Public()) || k0.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k1.Public()) {
		t.Fatal("two emails share an account key")
	}
	again, err := s.accountKey("ops@example.com")
	if err != nil || !again.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k1.Public()) {
		t.Fatalf("the account key was not read back: %v", err)
	}
	other, err := root.ca(dirs[1]).accountKey("ops@example.com")
	if err != nil || other.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k1.Public()) {
		t.Fatalf("two directories share an account key (%v)", err)
	}
	for _, email := range []string{"ops@example.com", "other@example.com", ""} {
		fi, err := os.Stat(s.accountPath(email))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("account key of %q: %v %v", email, fi, err)
		}
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
