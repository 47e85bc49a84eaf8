package engine

import (
	"fmt"

	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/proxy"
)

// acmeFor is where the tls: auto hosts of service (proxy options o) get
// their certificates: the daemon's settings (--acme-*, SetACME) with its
// stack's acme: keys over them — a stack that names its own directory
// brings its own ca_roots too (the daemon's roots are for the daemon's
// CA). own: the stack set something, so the proxy route carries the
// result. nil: no directory on either side. Callers hold e.mu.
func (e *Engine) acmeFor(service string, o *model.ProxyOptions) (a *proxy.ACME, own bool, err error) {
	if o == nil || o.ACME == nil || !o.TLSAuto {
		return e.acme, false, nil
	}
	s := o.ACME
	var out proxy.ACME
	if e.acme != nil {
		out = *e.acme
	}
	if s.Directory != "" {
		out.Directory, out.CARoots = s.Directory, s.CARoots
	} else if s.CARoots != "" {
		out.CARoots = s.CARoots
	}
	if s.Email != "" {
		out.Email = s.Email
	}
	if s.Challenge != "" {
		out.Challenge = s.Challenge
	}
	if s.RenewBefore != 0 {
		out.RenewBefore = proxy.Duration(s.RenewBefore)
	}
	if out.Directory == "" {
		return nil, true, nil
	}
	if err := out.Validate(); err != nil {
		return nil, true, fmt.Errorf("service %s: acme: %w", service, err)
	}
	return &out, true, nil
}
