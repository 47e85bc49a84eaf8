package proxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
)

// obtainTimeout bounds one attempt: order, challenges, finalisation.
const obtainTimeout = 5 * time.Minute

// acmeAccountID names an account: the CA, the contact and the roots its
// client trusts. Each (directory, email) has its own key (caStore).
type acmeAccountID struct{ directory, email, roots string }

func accountID(cfg acmeConfig) acmeAccountID {
	return acmeAccountID{cfg.Directory, cfg.Email, cfg.CARoots}
}

// acmeAccount is the registered client of one account; mu serialises
// building and registering it.
type acmeAccount struct {
	mu sync.Mutex
	c  *acme.Client // nil until registered
}

// account returns the registered client of cfg's account, creating the
// account key (saved once, under cfg's CA) and registering on first use.
func (m *certManager) account(ctx context.Context, cfg acmeConfig) (*acme.Client, error) {
	m.acctMu.Lock()
	a := m.accounts[accountID(cfg)]
	if a == nil {
		a = &acmeAccount{}
		m.accounts[accountID(cfg)] = a
	}
	m.acctMu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.c != nil {
		return a.c, nil
	}
	key, err := m.store.ca(cfg.Directory).accountKey(cfg.Email)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CARoots != "" {
		pool, err := acmeRootPool(cfg.CARoots)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	c := &acme.Client{
		Key:          key,
		DirectoryURL: cfg.Directory,
		HTTPClient:   &http.Client{Transport: tr, Timeout: time.Minute},
		UserAgent:    "berth-proxy",
	}
	acct := &acme.Account{}
	if cfg.Email != "" {
		acct.Contact = []string{"mailto:" + cfg.Email}
	}
	if _, err := c.Register(ctx, acct, acme.AcceptTOS); err != nil && !errors.Is(err, acme.ErrAccountAlreadyExists) {
		return nil, fmt.Errorf("acme account at %s: %w", cfg.Directory, err)
	}
	a.c = c
	return c, nil
}

// pruneAccountsLocked forgets the clients no managed host uses. Callers
// hold m.mu.
func (m *certManager) pruneAccountsLocked() {
	used := map[acmeAccountID]bool{}
	for _, h := range m.hosts {
		used[accountID(h.cfg)] = true
	}
	m.acctMu.Lock()
	defer m.acctMu.Unlock()
	for id := range m.accounts {
		if !used[id] {
			delete(m.accounts, id)
		}
	}
}

// obtain gets a new certificate for h from the CA over HTTP-01, stores it
// and serves it.
func (m *certManager) obtain(ctx context.Context, h *certHost) error {
	ctx, cancel := context.WithTimeout(ctx, obtainTimeout)
	defer cancel()
	m.mu.RLock()
	cfg := h.cfg
	m.mu.RUnlock()
	c, err := m.account(ctx, cfg)
	if err != nil {
		return err
	}
	typ := cfg.Challenge
	if typ == "" {
		typ = ChallengeHTTP01
	}
	order, err := c.AuthorizeOrder(ctx, acme.DomainIDs(h.name))
	if err != nil {
		m.dropAccountOn(cfg, err)
		return fmt.Errorf("new order for %s: %w", h.name, err)
	}
	for _, u := range order.AuthzURLs {
		z, err := c.GetAuthorization(ctx, u)
		if err != nil {
			return fmt.Errorf("authorization for %s: %w", h.name, err)
		}
		if z.Status == acme.StatusValid {
			continue // the CA remembers a recent validation
		}
		if z.Status != acme.StatusPending {
			return fmt.Errorf("authorization for %s is %s", h.name, z.Status)
		}
		var chal *acme.Challenge
		for _, ch := range z.Challenges {
			if ch.Type == typ {
				chal = ch
			}
		}
		if chal == nil {
			return fmt.Errorf("the CA offers no %s challenge for %s", typ, h.name)
		}
		switch typ {
		case ChallengeTLSALPN01:
			cert, err := c.TLSALPN01ChallengeCert(chal.Token, h.name)
			if err != nil {
				return err
			}
			m.alpnCerts.Store(h.name, &cert)
			defer m.alpnCerts.Delete(h.name)
		default:
			resp, err := c.HTTP01ChallengeResponse(chal.Token)
			if err != nil {
				return err
			}
			m.tokens.Store(chal.Token, resp)
			defer m.tokens.Delete(chal.Token)
		}
		if _, err := c.Accept(ctx, chal); err != nil {
			return fmt.Errorf("accepting the %s challenge for %s: %w", typ, h.name, err)
		}
		if _, err := c.WaitAuthorization(ctx, z.URI); err != nil {
			where := "is port 80 of " + h.name + " routed to this proxy?"
			if typ == ChallengeTLSALPN01 {
				where = "is port 443 of " + h.name + " a tls: auto listener of this proxy?"
			}
			return fmt.Errorf("%s validation of %s (%s): %w", typ, h.name, where, err)
		}
	}
	uri := order.URI
	if order, err = c.WaitOrder(ctx, uri); err != nil {
		return fmt.Errorf("order for %s: %w", h.name, err)
	}
	if order.URI == "" {
		order.URI = uri // finalisation waits on it
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{h.name}}, key)
	if err != nil {
		return err
	}
	chain, _, err := c.CreateCertFromOrder(ctx, order, csr, true)
	if err != nil {
		return fmt.Errorf("finalizing the order for %s: %w", h.name, err)
	}
	cert, err := assembleCertificate(h.name, key, chain)
	if err != nil {
		return fmt.Errorf("the CA's certificate for %s: %w", h.name, err)
	}
	if err := m.store.ca(cfg.Directory).save(h.name, key, chain); err != nil {
		return err
	}
	h.cert.Store(cert)
	h.foreign.Store(false)
	m.issued.Add(1)
	m.log.Info("certificate obtained", "host", h.name, "directory", cfg.Directory, "notAfter", cert.Leaf.NotAfter, "serial", cert.Leaf.SerialNumber.Text(16))
	return nil
}

// dropAccountOn forgets the client after an account error (the CA lost
// or deactivated the account), so the next attempt registers again.
func (m *certManager) dropAccountOn(cfg acmeConfig, err error) {
	var ae *acme.Error
	if errors.As(err, &ae) && (ae.StatusCode == http.StatusUnauthorized || ae.ProblemType == "urn:ietf:params:acme:error:accountDoesNotExist") {
		m.acctMu.Lock()
		delete(m.accounts, accountID(cfg))
		m.acctMu.Unlock()
	}
}

// acmeRetryAfter is the wait a rate-limited CA asked for (Retry-After),
// found in a wrapped error too (acme.RateLimit looks at err itself only).
func acmeRetryAfter(err error) (time.Duration, bool) {
	var ae *acme.Error
	if !errors.As(err, &ae) {
		return 0, false
	}
	return acme.RateLimit(ae)
}
