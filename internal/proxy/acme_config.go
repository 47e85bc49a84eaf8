// Automatic certificates (TLS.Auto), files acme_*.go: the proxy gets and
// renews its TLS certificates from an ACME CA (RFC 8555: Let's Encrypt, or any CA speaking it, such as pebble
// in the tests), on top of golang.org/x/crypto/acme: HTTP-01 challenges
// answered by the proxy's plain-HTTP listeners (serveChallenge), one
// certificate per host name kept under a directory crash-safely (0600,
// temp file + fsync + rename), loaded again at start-up so a restart does
// not ask the CA for anything while a stored certificate is good, renewed
// ahead of expiry, and retried with exponential backoff when the CA fails
// or cannot be reached — the certificate in hand is served meanwhile.
//
// It runs inside the proxy process, which outlives the daemon, so
// renewals go on while no daemon runs.

package proxy

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// DefaultACMERenewBefore is how long before expiry a certificate is renewed
// when acmeConfig.RenewBefore is zero (Let's Encrypt's 90-day certificates
// are renewed with 30 days left).
const DefaultACMERenewBefore = 30 * 24 * time.Hour

// acmeConfig is where certificates come from.
type acmeConfig struct {
	// Directory is the CA's ACME directory URL (https), e.g.
	// https://acme-v02.api.letsencrypt.org/directory.
	Directory string
	// Email is the account's contact (optional; the CA may send expiry
	// notices there).
	Email string
	// CARoots (PEM) are the roots trusted for the directory's own HTTPS
	// certificate; empty: the host's.
	CARoots string
	// RenewBefore: renew when a certificate has less than this left
	// (zero: DefaultACMERenewBefore). A certificate whose whole lifetime is
	// shorter is renewed when a third of its lifetime is left.
	RenewBefore time.Duration
	// Challenge: ChallengeHTTP01 ("" too) or ChallengeTLSALPN01.
	Challenge string
}

// Validate checks the config without contacting the CA; errors name the
// field and value.
func (c acmeConfig) Validate() error {
	u, err := url.Parse(c.Directory)
	switch {
	case c.Directory == "":
		return errors.New("directory: the ACME directory URL is required")
	case err != nil:
		return fmt.Errorf("directory %q: %w", c.Directory, err)
	case u.Scheme != "https" || u.Host == "":
		return fmt.Errorf("directory %q: want an https:// URL", c.Directory)
	}
	if err := validateACMEEmail(c.Email); err != nil {
		return err
	}
	if c.CARoots != "" {
		if _, err := acmeRootPool(c.CARoots); err != nil {
			return err
		}
	}
	if c.RenewBefore < 0 {
		return fmt.Errorf("renewBefore %s is negative", c.RenewBefore)
	}
	return nil
}

// validateACMEEmail accepts "" or one plain address (name@domain.tld).
func validateACMEEmail(email string) error {
	if email == "" {
		return nil
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return fmt.Errorf("email %q: not an email address (want name@example.com)", email)
	}
	at := strings.LastIndexByte(email, '@')
	if err := ValidateACMEHost(email[at+1:]); err != nil {
		return fmt.Errorf("email %q: domain: %w", email, err)
	}
	return nil
}

func acmeRootPool(pemText string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(pemText)) {
		return nil, errors.New("caRoots: no PEM certificate found")
	}
	return pool, nil
}

// ValidateACMEHost checks that a CA can issue a certificate for host over
// HTTP-01: a lower-case DNS name of at least two labels. Wildcards need
// DNS-01, which berth does not do; IP addresses are refused too.
func ValidateACMEHost(host string) error {
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
