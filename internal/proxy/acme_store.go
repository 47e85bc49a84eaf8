package proxy

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/internal/acmecheck"
	"github.com/berth-dev/berth/internal/atomicfile"
)

// certStore keeps, under dir, one directory per ACME CA (caStore), so
// two CAs — a staging and a production directory, or two environments'
// CAs — never share an account or a certificate:
//
//	dir/ca/<CA>/directory               the CA's directory URL (for people)
//	dir/ca/<CA>/account.key             the account without an email (PEM, 0600)
//	dir/ca/<CA>/account-<EMAIL>.key     the account of an email (PEM, 0600)
//	dir/ca/<CA>/certs/<host>.pem        the host's private key, then its chain (0600)
//
// <CA> is the directory URL's host and a hash of the whole URL
// (caDirName), <EMAIL> a hash of the address. Key and chain share one
// file, written at once (temp file + fsync + rename), so a crash leaves
// the old pair or the new one, never a key that does not match its
// certificate.
type certStore struct{ dir string }

// caStore is one CA's part of a certStore.
type caStore struct {
	dir       string
	directory string // the CA's directory URL
}

// ca is the part of the store that belongs to the CA at directory.
func (s certStore) ca(directory string) caStore {
	return caStore{dir: filepath.Join(s.dir, "ca", caDirName(directory)), directory: directory}
}

// caDirName names a CA's directory: its URL's host (letters, digits, '.'
// and '-'; anything else '_'), '-', and 16 hex digits of the URL's
// SHA-256 — two directory URLs never share one, even on one host.
func caDirName(directory string) string {
	host := "ca"
	if u, err := url.Parse(directory); err == nil && u.Host != "" {
		host = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
				return r
			}
			return '_'
		}, u.Host)
		host = strings.TrimLeft(host, ".")
		if len(host) > 64 {
			host = host[:64]
		}
		if host == "" {
			host = "ca"
		}
	}
	sum := sha256.Sum256([]byte(directory))
	return host + "-" + hex.EncodeToString(sum[:8])
}

func (s caStore) certPath(host string) string {
	return filepath.Join(s.dir, "certs", host+".pem")
}

// accountPath is where the key of the account of email lives.
func (s caStore) accountPath(email string) string {
	if email == "" {
		return filepath.Join(s.dir, "account.key")
	}
	sum := sha256.Sum256([]byte(email))
	return filepath.Join(s.dir, "account-"+hex.EncodeToString(sum[:8])+".key")
}

// check creates the CA's directories (0700), records its URL and proves
// they are writable, so a bad directory is an error when the config is
// applied, not at the first renewal.
func (s caStore) check() error {
	certs := filepath.Join(s.dir, "certs")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		return fmt.Errorf("certificate directory %s: %w", s.dir, err)
	}
	probe := filepath.Join(certs, ".probe")
	if err := atomicfile.WriteNoSync(probe, nil, 0o600); err != nil {
		return fmt.Errorf("certificate directory %s is not writable: %w", certs, err)
	}
	os.Remove(probe)
	name := filepath.Join(s.dir, "directory")
	if b, err := acmecheck.ReadFile(name); err != nil || string(b) != s.directory+"\n" {
		if err := atomicfile.Write(name, []byte(s.directory+"\n"), 0o600); err != nil {
			return fmt.Errorf("certificate directory %s: %w", s.dir, err)
		}
	}
	return nil
}

// accountKey loads the key of email's account at the CA, creating and
// saving one the first time.
func (s caStore) accountKey(email string) (crypto.Signer, error) {
	path := s.accountPath(email)
	b, err := acmecheck.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("acme account key: %w", err)
	}
	if b != nil {
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("acme account key %s: no PEM block", path)
		}
		k, err := parsePrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("acme account key %s: %w", path, err)
		}
		return k, nil
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("acme account key: %w", err)
	}
	return k, nil
}

func parsePrivateKey(der []byte) (crypto.Signer, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key type %T cannot sign", k)
	}
	return s, nil
}

// save writes host's key and chain (DER, leaf first).
func (s caStore) save(host string, key crypto.Signer, chain [][]byte) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	pem.Encode(&buf, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	for _, c := range chain {
		pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c})
	}
	if err := atomicfile.Write(s.certPath(host), buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("saving the certificate of %s: %w", host, err)
	}
	return nil
}

// load reads host's stored certificate; nil, nil when there is none.
func (s caStore) load(host string) (*tls.Certificate, error) {
	path := s.certPath(host)
	b, err := acmecheck.ReadFile(path)
	if err != nil || b == nil {
		return nil, err
	}
	c, err := parseStoredCertificate(host, b)
	if err != nil {
		return nil, fmt.Errorf("stored certificate %s: %w", path, err)
	}
	return c, nil
}

// parseStoredCertificate reads what save writes: a PRIVATE KEY block and
// the chain's CERTIFICATE blocks, for host.
func parseStoredCertificate(host string, b []byte) (*tls.Certificate, error) {
	var keyDER []byte
	var chain [][]byte
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "PRIVATE KEY":
			keyDER = blk.Bytes
		case "CERTIFICATE":
			chain = append(chain, blk.Bytes)
		}
	}
	if keyDER == nil || len(chain) == 0 {
		return nil, errors.New("want a PRIVATE KEY and CERTIFICATE blocks")
	}
	key, err := parsePrivateKey(keyDER)
	if err != nil {
		return nil, err
	}
	return assembleCertificate(host, key, chain)
}

// certificate assembles a tls.Certificate, checking that the leaf is for
// host and matches key.
func assembleCertificate(host string, key crypto.Signer, chain [][]byte) (*tls.Certificate, error) {
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, err
	}
	if err := leaf.VerifyHostname(host); err != nil {
		return nil, err
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, errors.New("the certificate does not match its key")
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// adoptLegacy moves what berth stored before one directory per CA —
// dir/account.key and dir/certs/<host>.pem, for the one CA a daemon had —
// into the part of directory (the daemon's CA now, Config.ACME) as the
// account of email, so an upgraded daemon orders nothing again. A file
// already in place wins (the legacy one is left); each move is a rename,
// so a crash midway leaves every file in one place or the other and the
// next start goes on.
func (s certStore) adoptLegacy(directory, email string) error {
	legacyCerts := filepath.Join(s.dir, "certs")
	legacyKey := filepath.Join(s.dir, "account.key")
	certs, err := os.ReadDir(legacyCerts)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	_, keyErr := os.Lstat(legacyKey)
	if len(certs) == 0 && keyErr != nil {
		return nil
	}
	ca := s.ca(directory)
	if err := ca.check(); err != nil {
		return err
	}
	move := func(from, to string) error {
		if _, err := os.Lstat(to); err == nil {
			return nil
		}
		return os.Rename(from, to)
	}
	var errs []error
	if keyErr == nil {
		errs = append(errs, move(legacyKey, ca.accountPath(email)))
	}
	for _, e := range certs {
		host, ok := strings.CutSuffix(e.Name(), ".pem")
		if !ok || !e.Type().IsRegular() || acmecheck.Host(host) != nil {
			continue
		}
		errs = append(errs, move(filepath.Join(legacyCerts, e.Name()), ca.certPath(host)))
	}
	os.Remove(legacyCerts) // when empty
	return errors.Join(errs...)
}
