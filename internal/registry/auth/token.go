package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/berth-dev/berth/internal/registry/errcode"
)

// clockSkew is how far apart the token server's and the registry's clocks
// may be. Both are this process today, but tokens outlive restarts and may
// later be checked by replicas.
const clockSkew = 30 * time.Second

// signingMethod is HS256: the registry both issues and verifies tokens, so a
// shared secret suffices, and HMAC verification is cheap on every request.
var signingMethod = jwt.SigningMethodHS256

// accessEntry is one element of the "access" claim of Docker's token spec.
type accessEntry struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// tokenClaims are the claims of a registry token.
type tokenClaims struct {
	jwt.RegisteredClaims
	Access []accessEntry `json:"access"`
}

// tokenIssuer signs and verifies tokens.
type tokenIssuer struct {
	key     []byte
	service string
	issuer  string
	expiry  time.Duration
	realm   string // configured realm; empty = derived per request
	now     func() time.Time
}

// issue signs a token for user ("" = anonymous) granting scopes.
func (t *tokenIssuer) issue(user string, scopes []Scope) (token string, issuedAt time.Time, err error) {
	issuedAt = t.now().UTC().Truncate(time.Second)
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", time.Time{}, err
	}
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   user,
			Audience:  jwt.ClaimStrings{t.service},
			ExpiresAt: jwt.NewNumericDate(issuedAt.Add(t.expiry)),
			NotBefore: jwt.NewNumericDate(issuedAt),
			IssuedAt:  jwt.NewNumericDate(issuedAt),
			ID:        base64.RawURLEncoding.EncodeToString(jti),
		},
		Access: []accessEntry{}, // docker login tokens carry an empty list, not null
	}
	for _, sc := range scopes {
		claims.Access = append(claims.Access, accessEntry{Type: sc.Type, Name: sc.Name, Actions: sc.Actions})
	}
	token, err = jwt.NewWithClaims(signingMethod, claims).SignedString(t.key)
	return token, issuedAt, err
}

// verify checks signature, issuer, audience and validity period, and returns
// the subject and the granted scopes.
func (t *tokenIssuer) verify(token string) (user string, granted []Scope, err error) {
	var claims tokenClaims
	_, err = jwt.ParseWithClaims(token, &claims,
		func(*jwt.Token) (any, error) { return t.key, nil },
		jwt.WithValidMethods([]string{signingMethod.Alg()}),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(t.service),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil {
		return "", nil, err
	}
	for _, e := range claims.Access {
		granted = append(granted, Scope{Type: e.Type, Name: e.Name, Actions: e.Actions})
	}
	return claims.Subject, mergeScopes(granted), nil
}

// tokenResponse is the token endpoint's answer. Both "token" (Docker) and
// "access_token" (OAuth2) are set, as Docker's spec recommends.
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
	Scope       string `json:"scope,omitempty"` // OAuth2 responses name the granted scopes
}

// TokenHandler serves the token endpoint (mount it at TokenPath):
//
//	GET  ?service=..&scope=..&scope=..[&account=..]  with optional Basic credentials
//	POST grant_type=password&username=..&password=..&service=..&scope=..  (OAuth2, containerd)
//
// It grants the intersection of the requested scopes and what the rules
// allow, never failing for a scope the user cannot have; bad credentials get
// 401. Without Config.Token the handler answers 404.
func (a *Authorizer) TokenHandler() http.Handler {
	return http.HandlerFunc(a.serveToken)
}

func (a *Authorizer) serveToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if a.tokens == nil {
		errcode.Write(w, errcode.New(errcode.Code{Name: "NOT_FOUND", Status: http.StatusNotFound}, "token authentication is not configured"))
		return
	}
	var (
		user, password string
		haveCreds      bool
		service        string
		scopeParams    []string
		oauth          bool
	)
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		service = q.Get("service")
		scopeParams = q["scope"]
		user, password, haveCreds = r.BasicAuth()
	case http.MethodPost:
		oauth = true
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the form does not parse")
			return
		}
		service = r.PostForm.Get("service")
		scopeParams = r.PostForm["scope"]
		switch gt := r.PostForm.Get("grant_type"); gt {
		case "password":
			user, password = r.PostForm.Get("username"), r.PostForm.Get("password")
			haveCreds = true
		case "refresh_token":
			// No refresh tokens are issued; clients then keep using the
			// password grant or Basic credentials.
			writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "refresh tokens are not issued by this registry")
			return
		default:
			writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("grant_type %q is not supported; use password", gt))
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		errcode.Write(w, errcode.New(errcode.Unsupported, "method %s not allowed on the token endpoint", r.Method))
		return
	}

	if service != "" && service != a.tokens.service {
		writeTokenError(w, oauth, http.StatusBadRequest, "invalid_request", fmt.Sprintf("service %q is unknown; this registry is %q", service, a.tokens.service))
		return
	}
	requested, err := parseScopeParams(scopeParams)
	if err != nil {
		writeTokenError(w, oauth, http.StatusBadRequest, "invalid_scope", err.Error())
		return
	}

	// The account parameter is informational; the identity is what the
	// credentials prove.
	if haveCreds {
		if !a.passwords.check(user, password) {
			if oauth {
				writeOAuthError(w, http.StatusUnauthorized, "invalid_grant", "invalid username or password")
				return
			}
			w.Header().Set("WWW-Authenticate", basicChallenge(a.realm))
			errcode.Write(w, errcode.New(errcode.Unauthorized, "invalid username or password"))
			return
		}
	} else {
		user = ""
	}

	var granted []Scope
	for _, sc := range requested {
		if g := a.rules.grant(user, sc); len(g.Actions) > 0 {
			granted = append(granted, g)
		}
	}
	token, issuedAt, err := a.tokens.issue(user, granted)
	if err != nil {
		errcode.Write(w, errcode.New(errcode.Unknown, "signing the token failed"))
		return
	}
	resp := tokenResponse{
		Token:       token,
		AccessToken: token,
		ExpiresIn:   int(a.tokens.expiry / time.Second),
		IssuedAt:    issuedAt.Format(time.RFC3339),
	}
	if oauth {
		parts := make([]string, len(granted))
		for i, g := range granted {
			parts[i] = g.String()
		}
		resp.Scope = strings.Join(parts, " ")
	}
	w.Header().Set("Content-Type", "application/json")
	// Tokens are credentials: no cache may keep them (RFC 6749 5.1).
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	_ = json.NewEncoder(w).Encode(resp)
}

// writeTokenError answers in OAuth2 form for POST and as an OCI error for
// GET, the shapes the respective clients parse.
func writeTokenError(w http.ResponseWriter, oauth bool, status int, code, msg string) {
	if oauth {
		writeOAuthError(w, status, code, msg)
		return
	}
	errcode.Write(w, errcode.New(errcode.Code{Name: strings.ToUpper(code), Status: status}, "%s", msg))
}

func writeOAuthError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": msg})
}

// errBadToken is returned for every token that fails verification; the
// cause stays internal so probing learns nothing.
var errBadToken = errors.New("invalid or expired token")
