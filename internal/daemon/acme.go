package daemon

import (
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
)

// ACMEOptions are the daemon's settings for x-berth-proxy tls: auto
// (berth daemon --acme-*): where the proxy gets certificates.
type ACMEOptions struct {
	Directory   string        // the CA's ACME directory URL; empty: no automatic certificates
	Email       string        // the account's contact
	CARootsFile string        // PEM roots for the directory's HTTPS (a private CA); empty: the host's
	HTTPPort    int           // where the CA validates HTTP-01 (0: 80)
	RenewBefore time.Duration // renew with this much left (0: 30 days)
	Challenge   string        // http-01 (""), or tls-alpn-01: validated on the HTTPS port (443) itself
}

// maxRootsFile bounds the CA roots file: a few certificates.
const maxRootsFile = 1 << 20

// settings checks the options and returns the proxy's ACME config (nil
// when no directory is set). Errors name the flag and value.
func (o ACMEOptions) settings() (*proxy.ACME, error) {
	if o.Directory == "" {
		if o.Email != "" || o.CARootsFile != "" || o.HTTPPort != 0 || o.RenewBefore != 0 || o.Challenge != "" {
			return nil, errors.New("--acme-email, --acme-ca-roots, --acme-http-port, --acme-renew-before and --acme-challenge need --acme-directory")
		}
		return nil, nil
	}
	a := &proxy.ACME{Directory: o.Directory, Email: o.Email, HTTPPort: o.HTTPPort, RenewBefore: proxy.Duration(o.RenewBefore), Challenge: o.Challenge}
	if o.CARootsFile != "" {
		b, err := readRegular(o.CARootsFile, maxRootsFile)
		if err != nil {
			return nil, fmt.Errorf("--acme-ca-roots %s: %w", o.CARootsFile, err)
		}
		a.CARoots = string(b)
	}
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("--acme-*: %w", err)
	}
	return a, nil
}
