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
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
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
	if err := ValidateACMEDirectory(c.Directory); err != nil {
		return err
	}
	if err := ValidateACMEEmail(c.Email); err != nil {
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
	return ValidateACMEChallenge(c.Challenge)
}

// ValidateACMEDirectory checks an ACME directory URL: https, with a host
// (a CA's API carries the account key's signatures: never plain HTTP,
// loopback included). The daemon's --acme-directory and berth.yaml's
// acme: directory go through it.
func ValidateACMEDirectory(directory string) error {
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

// ValidateACMEChallenge accepts "" (http-01), ChallengeHTTP01 and
// ChallengeTLSALPN01.
func ValidateACMEChallenge(typ string) error {
	switch typ {
	case "", ChallengeHTTP01, ChallengeTLSALPN01:
		return nil
	}
	return fmt.Errorf("challenge %q: want %s or %s", typ, ChallengeHTTP01, ChallengeTLSALPN01)
}

// CheckACMERoots checks PEM CA roots (acme ca_roots): one CERTIFICATE
// block at least, every block a certificate that parses.
func CheckACMERoots(pemText string) error {
	_, err := acmeRootPool(pemText)
	return err
}

// ValidateACMEEmail accepts "" or one plain address (name@domain.tld):
// the daemon's --acme-email and berth.yaml's acme: email.
func ValidateACMEEmail(email string) error {
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

// acmeRootPool reads PEM roots: every block a CERTIFICATE that parses,
// one at least.
func acmeRootPool(pemText string) (*x509.CertPool, error) {
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

// Validate checks the ACME settings without contacting the CA: an https
// directory URL, a plain email address (or none), PEM roots, a port.
// Errors name the field and value.
func (a *ACME) Validate() error {
	if err := a.tlsConfig().Validate(); err != nil {
		return err
	}
	if a.HTTPPort < 0 || a.HTTPPort > 65535 {
		return fmt.Errorf("httpPort %d: want 1-65535", a.HTTPPort)
	}
	return nil
}

func (a *ACME) tlsConfig() acmeConfig {
	return acmeConfig{Directory: a.Directory, Email: a.Email, CARoots: a.CARoots, RenewBefore: time.Duration(a.RenewBefore), Challenge: a.Challenge}
}

// routeACME is where the hosts of r, a route of a TLS.Auto listener, get
// certificates: r's own settings (its stack's), else the config's; nil:
// none.
func (c Config) routeACME(r Route) *ACME {
	if r.ACME != nil {
		return r.ACME
	}
	return c.ACME
}

// usesACME reports whether any settings are there: the plain HTTP
// listeners answer HTTP-01 challenges.
func (c Config) usesACME() bool {
	if c.ACME != nil {
		return true
	}
	for _, l := range c.Listeners {
		for _, r := range l.Routes {
			if r.ACME != nil {
				return true
			}
		}
	}
	return false
}

// validateACME checks the settings of the config and of its routes, and
// that every TLS.Auto host has settings, one CA only and (HTTP-01) a
// plain HTTP listener to be validated on.
func (c Config) validateACME() error {
	if c.ACME != nil {
		if err := c.ACME.Validate(); err != nil {
			return fmt.Errorf("acme: %w", err)
		}
	}
	type owner struct {
		cfg     acmeConfig
		service string
	}
	owners := map[string]owner{}
	for i, l := range c.Listeners {
		where := fmt.Sprintf("listeners[%d] (%s)", i, l.Addr)
		auto := l.TLS != nil && l.TLS.Auto
		for j, r := range l.Routes {
			rwhere := fmt.Sprintf("%s: routes[%d] (%s)", where, j, r.Service)
			if r.ACME != nil {
				if err := r.ACME.Validate(); err != nil {
					return fmt.Errorf("%s: acme: %w", rwhere, err)
				}
			}
			if !auto {
				continue
			}
			a := c.routeACME(r)
			if a == nil {
				return fmt.Errorf("%s: tls auto: no acme settings (directory, email) to get certificates with", where)
			}
			if a.ChallengeType() == ChallengeHTTP01 && !c.hasChallengeListener(a.Port()) {
				return fmt.Errorf("%s: tls auto: no plain HTTP listener on port %d to answer the CA's HTTP-01 challenges", where, a.Port())
			}
			cfg := a.tlsConfig()
			for _, h := range r.Hosts {
				h = normalizeHost(h)
				if o, ok := owners[h]; ok && o.cfg != cfg {
					if o.cfg.Directory != cfg.Directory {
						return fmt.Errorf("%s: tls auto: host %q gets certificates from %s here and from %s for %s: a host has one CA", rwhere, h, cfg.Directory, o.cfg.Directory, o.service)
					}
					return fmt.Errorf("%s: tls auto: host %q has other acme settings (email, roots, challenge or renewal) than for %s", rwhere, h, o.service)
				}
				owners[h] = owner{cfg, r.Service}
			}
		}
	}
	return nil
}

// hasChallengeListener reports whether a plain HTTP listener is on port,
// where the CA validates HTTP-01.
func (c Config) hasChallengeListener(port int) bool {
	for _, l := range c.Listeners {
		if l.Mode != ModeHTTP || l.TLS != nil {
			continue
		}
		if _, p, err := net.SplitHostPort(l.Addr); err == nil && p == strconv.Itoa(port) {
			return true
		}
	}
	return false
}

// autoHosts maps the hosts of TLS.Auto listeners, normalised, to where
// their certificates come from (Validate first: one CA per host).
func (c Config) autoHosts() map[string]acmeConfig {
	out := map[string]acmeConfig{}
	for _, l := range c.Listeners {
		if l.TLS == nil || !l.TLS.Auto {
			continue
		}
		for _, r := range l.Routes {
			a := c.routeACME(r)
			if a == nil {
				continue
			}
			for _, h := range r.Hosts {
				out[normalizeHost(h)] = a.tlsConfig()
			}
		}
	}
	return out
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
