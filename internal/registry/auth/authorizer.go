// Package auth authenticates registry clients (htpasswd Basic credentials or
// Docker registry tokens) and authorizes their actions on repositories with
// configured rules. It also serves Docker's token endpoint.
package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/registry/errcode"
)

// ErrUnauthorized marks errors answered with 401 and a challenge: missing or
// invalid credentials, or an anonymous request that needs more.
var ErrUnauthorized = errors.New("authentication required")

// ErrDenied marks errors answered with 403: the user is known but the rules
// do not allow the action.
var ErrDenied = errors.New("requested access to the resource is denied")

// authError is what Authorize returns.
type authError struct {
	kind error  // ErrUnauthorized or ErrDenied
	msg  string // for the client; never holds credentials
	// bearer is the RFC 6750 error code for Bearer challenges:
	// "invalid_token" or "insufficient_scope" (the client should fetch a
	// token with more scopes).
	bearer string
}

func (e *authError) Error() string        { return e.msg }
func (e *authError) Is(target error) bool { return target == e.kind }

func unauthorized(msg, bearer string) error {
	return &authError{kind: ErrUnauthorized, msg: msg, bearer: bearer}
}

// Authorizer checks requests against the configuration. It is safe for
// concurrent use.
type Authorizer struct {
	realm     string
	passwords *htpasswd
	rules     *ruleSet
	tokens    *tokenIssuer // nil without Config.Token
	logger    *slog.Logger
	now       func() time.Time
}

// New validates cfg and returns its Authorizer. Errors name the offending
// field: a missing htpasswd file, an unknown action, an empty rule, an
// undefined group, a malformed token realm.
func New(cfg Config) (*Authorizer, error) {
	return newWithClock(cfg, time.Now)
}

// newWithClock lets tests move time instead of sleeping.
func newWithClock(cfg Config, now func() time.Time) (*Authorizer, error) {
	a := &Authorizer{realm: cfg.Realm, logger: cfg.Logger, now: now}
	if a.realm == "" {
		a.realm = DefaultRealm
	}
	if a.logger == nil {
		a.logger = slog.Default()
	}
	if cfg.Htpasswd == "" {
		return nil, fmt.Errorf("htpasswd: the path of an htpasswd file is required")
	}
	rules, err := compileRules(cfg)
	if err != nil {
		return nil, err
	}
	a.rules = rules
	if a.passwords, err = newHtpasswd(cfg.Htpasswd, a.logger, now); err != nil {
		return nil, err
	}
	if cfg.Token != nil {
		if a.tokens, err = newTokenIssuer(*cfg.Token, a.logger, now); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func newTokenIssuer(tc TokenConfig, logger *slog.Logger, now func() time.Time) (*tokenIssuer, error) {
	t := &tokenIssuer{service: tc.Service, issuer: tc.Issuer, expiry: tc.Expiry, realm: tc.Realm, now: now}
	if t.service == "" {
		t.service = DefaultService
	}
	if t.issuer == "" {
		t.issuer = DefaultIssuer
	}
	switch {
	case t.expiry == 0:
		t.expiry = DefaultTokenExpiry
	case t.expiry < time.Second:
		return nil, fmt.Errorf("token.expiry: %s is too short; use at least 1s (default 5m)", t.expiry)
	}
	if t.realm != "" {
		u, err := url.Parse(t.realm)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("token.realm: %q is not an absolute http(s) URL", t.realm)
		}
	}
	key, err := loadOrCreateKey(tc.KeyFile, logger)
	if err != nil {
		return nil, err
	}
	t.key = key
	return t, nil
}

// Authorize authenticates r and checks that its identity may do everything
// need asks. An empty need asks only for a valid identity, as the /v2/ ping
// does; anonymous requests pass it when some rule grants anything to
// anonymous (e.g. anonymousPull). It returns the user name ("" for
// anonymous). A nil error means allowed; otherwise errors.Is tells
// ErrUnauthorized (401) from ErrDenied (403), and WriteError answers it.
//
// Basic credentials are accepted in token mode too, since some clients send
// them directly.
func (a *Authorizer) Authorize(r *http.Request, need []Scope) (string, error) {
	header := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(header, " ")
	switch {
	case header == "":
		return "", a.authorizeIdentity("", need)
	case strings.EqualFold(scheme, "Basic"):
		user, password, ok := r.BasicAuth()
		if !ok {
			return "", unauthorized("malformed Basic credentials", "")
		}
		if !a.passwords.check(user, password) {
			return "", unauthorized("invalid username or password", "")
		}
		return user, a.authorizeIdentity(user, need)
	case strings.EqualFold(scheme, "Bearer") && a.tokens != nil:
		return a.authorizeToken(strings.TrimSpace(cred), need)
	default:
		return "", unauthorized(fmt.Sprintf("unsupported authorization scheme %q", scheme), "")
	}
}

// authorizeIdentity checks need against the rules for an authenticated user
// or, for user "", an anonymous request.
func (a *Authorizer) authorizeIdentity(user string, need []Scope) error {
	if len(need) == 0 {
		if user == "" && !a.rules.anonymousAllowed() {
			return unauthorized("authentication required", "")
		}
		return nil
	}
	for _, sc := range need {
		if a.rules.permits(user, sc) {
			continue
		}
		if user == "" {
			// 401, not 403: Docker clients only send credentials after a
			// challenge, so an anonymous pull allowed but push refused must
			// still ask them to log in. No Bearer error code: the request
			// carried no credentials (RFC 6750 section 3.1).
			return unauthorized(fmt.Sprintf("authentication required to %s", describe(sc)), "")
		}
		return &authError{kind: ErrDenied, msg: fmt.Sprintf("user %q may not %s", user, describe(sc))}
	}
	return nil
}

// authorizeToken checks a Bearer token. Tokens are trusted for what they
// carry; a valid token lacking a scope gets 401 insufficient_scope when the
// rules would grant it (the client asked for too little and should fetch a
// new token), and 403 when they would not.
func (a *Authorizer) authorizeToken(token string, need []Scope) (string, error) {
	user, granted, err := a.tokens.verify(token)
	if err != nil {
		return "", unauthorized(errBadToken.Error(), "invalid_token")
	}
	if len(need) == 0 {
		if user == "" && !a.rules.anonymousAllowed() {
			return "", unauthorized("authentication required", "")
		}
		return user, nil
	}
	for _, sc := range need {
		if tokenCovers(granted, sc) {
			continue
		}
		if user == "" || a.rules.permits(user, sc) {
			return user, unauthorized(fmt.Sprintf("the token does not grant %s", sc), "insufficient_scope")
		}
		return user, &authError{kind: ErrDenied, msg: fmt.Sprintf("user %q may not %s", user, describe(sc))}
	}
	return user, nil
}

func tokenCovers(granted []Scope, sc Scope) bool {
	for _, g := range granted {
		if g.Type == sc.Type && g.Name == sc.Name {
			return covers(g.Actions, sc.Actions)
		}
	}
	return false
}

// describe phrases a scope for error messages.
func describe(sc Scope) string {
	if sc.Type == TypeRepository {
		return fmt.Sprintf("%s repository %q", strings.Join(sc.Actions, "+"), sc.Name)
	}
	return fmt.Sprintf("access %s", sc)
}

// WriteError answers a failed Authorize: 401 with a WWW-Authenticate
// challenge (Basic, or Bearer with realm, service and the needed scopes in
// token mode) for missing or invalid credentials, 403 DENIED for a known
// user without permission. The body is the OCI error JSON. The
// Docker-Distribution-API-Version header is always set, since docker's ping
// looks for it on the 401 too.
func (a *Authorizer) WriteError(w http.ResponseWriter, r *http.Request, need []Scope, err error) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	var ae *authError
	if !errors.As(err, &ae) {
		ae = &authError{kind: ErrUnauthorized, msg: "authentication required"}
	}
	if ae.kind == ErrDenied {
		errcode.Write(w, errcode.New(errcode.Denied, "%s", ae.msg))
		return
	}
	if a.tokens != nil {
		w.Header().Set("WWW-Authenticate", a.bearerChallenge(r, need, ae.bearer))
	} else {
		w.Header().Set("WWW-Authenticate", basicChallenge(a.realm))
	}
	errcode.Write(w, errcode.New(errcode.Unauthorized, "%s", ae.msg))
}

func basicChallenge(realm string) string {
	return "Basic realm=" + quote(realm) + `,charset="UTF-8"`
}

// bearerChallenge builds Docker's challenge. Several scopes go space
// separated into one scope parameter, as distribution does.
func (a *Authorizer) bearerChallenge(r *http.Request, need []Scope, bearerErr string) string {
	var b strings.Builder
	b.WriteString("Bearer realm=")
	b.WriteString(quote(a.tokenRealm(r)))
	b.WriteString(",service=")
	b.WriteString(quote(a.tokens.service))
	if len(need) > 0 {
		parts := make([]string, len(need))
		for i, sc := range need {
			parts[i] = sc.String()
		}
		b.WriteString(",scope=")
		b.WriteString(quote(strings.Join(parts, " ")))
	}
	if bearerErr != "" {
		b.WriteString(",error=")
		b.WriteString(quote(bearerErr))
	}
	return b.String()
}

// tokenRealm is the configured realm or scheme://Host/auth/token for r. The
// scheme follows X-Forwarded-Proto from a TLS-terminating proxy; only the
// values http and https are believed.
func (a *Authorizer) tokenRealm(r *http.Request) string {
	if a.tokens.realm != "" {
		return a.tokens.realm
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		first, _, _ := strings.Cut(p, ",")
		switch first = strings.ToLower(strings.TrimSpace(first)); first {
		case "http", "https":
			scheme = first
		}
	}
	return scheme + "://" + r.Host + TokenPath
}

// quote makes an RFC 7230 quoted-string.
func quote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}
