// Package acmecheck holds the checks of ACME settings that the proxy (the
// daemon's --acme-* flags and every config pushed to it) and berth.yaml's
// acme: (internal/stack) both apply, so a value one refuses the other
// refuses too: the directory URL, the account's email, the challenge
// type, the CA roots and their file, and the host names a CA issues for.
// A leaf: it imports nothing of berth.
package acmecheck

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strings"
)

// Challenge types.
const (
	ChallengeHTTP01    = "http-01"
	ChallengeTLSALPN01 = "tls-alpn-01"
)

// MaxFile bounds what ReadFile reads: a CA roots file, an account key, a
// key and its chain are a few KiB.
const MaxFile = 1 << 20

// Directory checks an ACME directory URL: https, with a host and no user
// information — a CA's API carries the account key's signatures, never
// over plain HTTP, loopback included.
func Directory(directory string) error {
	u, err := url.Parse(directory)
	switch {
	case directory == "":
		return errors.New("directory: the ACME directory URL is required")
	case err != nil:
		return fmt.Errorf("directory %q: %w", directory, err)
	case u.Scheme != "https" || u.Host == "" || u.User != nil:
		return fmt.Errorf("directory %q: want an https:// URL", directory)
	}
	return nil
}

// Email accepts "" or one plain address (name@domain.tld).
func Email(email string) error {
	if email == "" {
		return nil
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return fmt.Errorf("email %q: not an email address (want name@example.com)", email)
	}
	at := strings.LastIndexByte(email, '@')
	if err := Host(email[at+1:]); err != nil {
		return fmt.Errorf("email %q: domain: %w", email, err)
	}
	return nil
}

// Challenge accepts "" (http-01), ChallengeHTTP01 and ChallengeTLSALPN01.
func Challenge(typ string) error {
	switch typ {
	case "", ChallengeHTTP01, ChallengeTLSALPN01:
		return nil
	}
	return fmt.Errorf("challenge %q: want %s or %s", typ, ChallengeHTTP01, ChallengeTLSALPN01)
}

// Roots reads PEM CA roots: every block a CERTIFICATE that parses, one
// at least.
func Roots(pemText string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	rest, certs := []byte(pemText), 0
	for n := 1; ; n++ {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("caRoots: PEM block %d is a %s, want CERTIFICATE", n, blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("caRoots: PEM block %d: %w", n, err)
		}
		pool.AddCert(c)
		certs++
	}
	if certs == 0 {
		return nil, errors.New("caRoots: no PEM certificate found")
	}
	return pool, nil
}

// ReadRoots reads a CA roots file (ReadFile) and checks it (Roots).
func ReadRoots(path string) (string, error) {
	b, err := ReadFile(path)
	switch {
	case err != nil:
		return "", err
	case b == nil:
		return "", fmt.Errorf("%s: no such file", path)
	}
	if _, err := Roots(string(b)); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return string(b), nil
}

// ReadFile reads a regular file (not a link, FIFO or device) of at most
// MaxFile bytes; a missing file is (nil, nil).
func ReadFile(path string) ([]byte, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxFile)
	}
	return b, nil
}

// Host checks that a CA can issue a certificate for host over HTTP-01: a
// lower-case DNS name of at least two labels. Wildcards need DNS-01,
// which berth does not do; IP addresses are refused too.
func Host(host string) error {
	switch {
	case host == "":
		return errors.New("empty host name")
	case strings.HasPrefix(host, "*."):
		return fmt.Errorf("host %q: a wildcard certificate needs the DNS-01 challenge, which berth does not do; list the host names", host)
	case net.ParseIP(host) != nil:
		return fmt.Errorf("host %q: an IP address; automatic certificates need a DNS name", host)
	case len(host) > 253:
		return fmt.Errorf("host %q: longer than 253 characters", host)
	case !strings.Contains(host, "."):
		return fmt.Errorf("host %q: not a fully qualified domain name (a CA issues only for public names like shop.example.com)", host)
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("host %q: empty or over-long label", host)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host %q: label %q starts or ends with '-'", host, label)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("host %q: character %q (want lower-case letters, digits, '-' and '.')", host, c)
			}
		}
	}
	return nil
}
