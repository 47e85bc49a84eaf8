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
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/acmecheck"
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
	if err := acmecheck.Directory(c.Directory); err != nil {
		return err
	}
	if err := acmecheck.Email(c.Email); err != nil {
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
	return acmecheck.Challenge(c.Challenge)
}

// ValidateACMEHost checks that a CA can issue a certificate for host
// over HTTP-01 (acmecheck.Host).
func ValidateACMEHost(host string) error { return acmecheck.Host(host) }

func acmeRootPool(pemText string) (*x509.CertPool, error) { return acmecheck.Roots(pemText) }

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
