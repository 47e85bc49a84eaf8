package auth

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func tokenConfig(t *testing.T) Config {
	cfg := basicConfig(t)
	cfg.Token = &TokenConfig{KeyFile: t.TempDir() + "/token.key"}
	return cfg
}

// parseChallenge splits `Bearer realm="..",service=".."` into its scheme
// and parameters.
func parseChallenge(t *testing.T, h string) (string, map[string]string) {
	t.Helper()
	scheme, rest, _ := strings.Cut(h, " ")
	params := map[string]string{}
	for rest != "" {
		key, after, ok := strings.Cut(rest, "=")
		if !ok || !strings.HasPrefix(after, `"`) {
			t.Fatalf("malformed challenge %q", h)
		}
		var val strings.Builder
		i := 1
		for ; i < len(after) && after[i] != '"'; i++ {
			if after[i] == '\\' {
				i++
			}
			val.WriteByte(after[i])
		}
		params[strings.TrimSpace(key)] = val.String()
		rest = strings.TrimPrefix(after[i+1:], ",")
	}
	return scheme, params
}

type tokenReply struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
	Scope       string `json:"scope"`
}

// getToken asks the token endpoint like docker does and returns the reply.
func getToken(t *testing.T, srvURL string, scopes []string, opts ...reqOpt) (int, tokenReply) {
	t.Helper()
	q := url.Values{"service": {DefaultService}, "scope": scopes}
	resp, body := do(t, "GET", srvURL+TokenPath+"?"+q.Encode(), opts...)
	var tr tokenReply
	if resp.StatusCode == 200 {
		if err := json.Unmarshal([]byte(body), &tr); err != nil {
			t.Fatalf("token reply %q: %v", body, err)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", cc)
		}
	}
	return resp.StatusCode, tr
}

// tokenAccess decodes the access claim of a token without verifying it.
func tokenAccess(t *testing.T, tok string) (jwt.MapClaims, []accessEntry) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWS", tok)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var all jwt.MapClaims
	var c struct {
		Access []accessEntry `json:"access"`
	}
	if err := json.Unmarshal(payload, &all); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return all, c.Access
}

func TestBearerChallenges(t *testing.T) {
	srv, _, _ := newTestServer(t, tokenConfig(t))

	resp, body := do(t, "GET", srv.URL+"/v2/")
	if resp.StatusCode != 401 || ociError(t, body) != "UNAUTHORIZED" || resp.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" {
		t.Fatalf("ping: %d %s", resp.StatusCode, body)
	}
	scheme, p := parseChallenge(t, resp.Header.Get("WWW-Authenticate"))
	host := strings.TrimPrefix(srv.URL, "http://")
	want := map[string]string{"realm": "http://" + host + TokenPath, "service": DefaultService}
	if scheme != "Bearer" || !reflect.DeepEqual(p, want) {
		t.Fatalf("ping challenge = %s %v, want Bearer %v", scheme, p, want)
	}

	resp, _ = do(t, "PUT", srv.URL+"/v2/team/app/manifests/v1", withHeader("X-Forwarded-Proto", "https"))
	_, p = parseChallenge(t, resp.Header.Get("WWW-Authenticate"))
	if p["realm"] != "https://"+host+TokenPath || p["scope"] != "repository:team/app:pull,push" {
		t.Fatalf("push challenge = %v", p)
	}
	// Junk in X-Forwarded-Proto is not believed.
	resp, _ = do(t, "GET", srv.URL+"/v2/", withHeader("X-Forwarded-Proto", "javascript"))
	if _, p = parseChallenge(t, resp.Header.Get("WWW-Authenticate")); !strings.HasPrefix(p["realm"], "http://") {
		t.Fatalf("realm = %q", p["realm"])
	}
}

func TestBearerChallengeConfiguredRealm(t *testing.T) {
	cfg := tokenConfig(t)
	cfg.Token.Realm = "https://auth.example.com/token"
	cfg.Token.Service = "reg.example.com"
	srv, _, _ := newTestServer(t, cfg)
	resp, _ := do(t, "GET", srv.URL+"/v2/_catalog")
	_, p := parseChallenge(t, resp.Header.Get("WWW-Authenticate"))
	want := map[string]string{"realm": "https://auth.example.com/token", "service": "reg.example.com", "scope": "registry:catalog:*"}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("challenge = %v, want %v", p, want)
	}
}

func TestTokenFlowEndToEnd(t *testing.T) {
	srv, _, clock := newTestServer(t, tokenConfig(t))
	u := srv.URL

	// docker login: credentials, no scope -> token with empty access that
	// passes the ping.
	status, tr := getToken(t, u, nil, withBasic("writer", "w-pass"))
	if status != 200 || tr.Token == "" || tr.Token != tr.AccessToken || tr.ExpiresIn != 300 {
		t.Fatalf("login token: %d %+v", status, tr)
	}
	if _, err := time.Parse(time.RFC3339, tr.IssuedAt); err != nil {
		t.Errorf("issued_at %q: %v", tr.IssuedAt, err)
	}
	claims, access := tokenAccess(t, tr.Token)
	if len(access) != 0 || claims["sub"] != "writer" || claims["iss"] != DefaultIssuer {
		t.Fatalf("login token claims = %v", claims)
	}
	if resp, body := do(t, "GET", u+"/v2/", withBearer(tr.Token)); resp.StatusCode != 200 || body != "user=writer" {
		t.Fatalf("ping with login token: %d %s", resp.StatusCode, body)
	}
	// The login token grants no repository: 401 insufficient_scope sends
	// the client back for a wider token.
	resp, _ := do(t, "GET", u+"/v2/team/a/manifests/v1", withBearer(tr.Token))
	if _, p := parseChallenge(t, resp.Header.Get("WWW-Authenticate")); resp.StatusCode != 401 || p["error"] != "insufficient_scope" || p["scope"] != "repository:team/a:pull" {
		t.Fatalf("login token on a repository: %d %v", resp.StatusCode, p)
	}

	// A token for team/a.
	status, tr = getToken(t, u, []string{"repository:team/a:pull,push"}, withBasic("writer", "w-pass"))
	if status != 200 {
		t.Fatalf("token: %d", status)
	}
	_, access = tokenAccess(t, tr.Token)
	if !reflect.DeepEqual(access, []accessEntry{{"repository", "team/a", []string{"pull", "push"}}}) {
		t.Fatalf("access = %+v", access)
	}
	for _, m := range []string{"GET", "HEAD", "PUT", "POST"} {
		if resp, _ := do(t, m, u+"/v2/team/a/manifests/v1", withBearer(tr.Token)); resp.StatusCode != 200 {
			t.Errorf("%s team/a with its token: %d", m, resp.StatusCode)
		}
	}
	// Not valid for repo B: the user may push there, so ask for a new token...
	resp, _ = do(t, "GET", u+"/v2/team/b/manifests/v1", withBearer(tr.Token))
	if _, p := parseChallenge(t, resp.Header.Get("WWW-Authenticate")); resp.StatusCode != 401 || p["error"] != "insufficient_scope" || p["scope"] != "repository:team/b:pull" {
		t.Errorf("team/a token on team/b: %d %v", resp.StatusCode, p)
	}
	// ...and where the rules refuse anyway, 403.
	resp, body := do(t, "GET", u+"/v2/other/c/manifests/v1", withBearer(tr.Token))
	if resp.StatusCode != 403 || ociError(t, body) != "DENIED" {
		t.Errorf("team/a token on other/c: %d %s", resp.StatusCode, body)
	}
	// Delete was not granted and the writer may not delete.
	if resp, _ := do(t, "DELETE", u+"/v2/team/a/manifests/v1", withBearer(tr.Token)); resp.StatusCode != 403 {
		t.Errorf("delete with a pull,push token: %d", resp.StatusCode)
	}

	// Expired: after expiry plus the allowed skew the token is refused.
	clock.Advance(5*time.Minute + clockSkew + time.Second)
	resp, _ = do(t, "GET", u+"/v2/team/a/manifests/v1", withBearer(tr.Token))
	if _, p := parseChallenge(t, resp.Header.Get("WWW-Authenticate")); resp.StatusCode != 401 || p["error"] != "invalid_token" {
		t.Fatalf("expired token: %d %v", resp.StatusCode, p)
	}
}

func TestTokenGrantsOnlyTheIntersection(t *testing.T) {
	srv, _, _ := newTestServer(t, tokenConfig(t))
	status, tr := getToken(t, srv.URL, []string{
		"repository:team/a:pull,push,delete",
		"repository:other/x:pull",
		"registry:catalog:*",
	}, withBasic("reader", "r-pass"))
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	_, access := tokenAccess(t, tr.Token)
	want := []accessEntry{
		{"repository", "team/a", []string{"pull"}},
		{"registry", "catalog", []string{"*"}},
	}
	if !reflect.DeepEqual(access, want) {
		t.Fatalf("access = %+v, want %+v", access, want)
	}
	// The pull-only user's token cannot push or delete: 403.
	for _, m := range []string{"PUT", "DELETE"} {
		resp, body := do(t, m, srv.URL+"/v2/team/a/manifests/v1", withBearer(tr.Token))
		if resp.StatusCode != 403 || ociError(t, body) != "DENIED" {
			t.Errorf("%s by reader: %d %s", m, resp.StatusCode, body)
		}
	}
	if resp, _ := do(t, "GET", srv.URL+"/v2/_catalog", withBearer(tr.Token)); resp.StatusCode != 200 {
		t.Errorf("catalog: %d", resp.StatusCode)
	}
}

func TestTokenEndpointRefusesBadRequests(t *testing.T) {
	srv, _, _ := newTestServer(t, tokenConfig(t))
	u := srv.URL

	status, _ := getToken(t, u, []string{"repository:team/a:pull"}, withBasic("writer", "wrong"))
	if status != 401 {
		t.Errorf("wrong password: %d", status)
	}
	resp, body := do(t, "GET", u+TokenPath+"?service=elsewhere&scope=repository:team/a:pull", withBasic("writer", "w-pass"))
	if resp.StatusCode != 400 || !strings.Contains(body, "elsewhere") {
		t.Errorf("foreign service: %d %s", resp.StatusCode, body)
	}
	resp, _ = do(t, "GET", u+TokenPath+"?scope=nonsense", withBasic("writer", "w-pass"))
	if resp.StatusCode != 400 {
		t.Errorf("malformed scope: %d", resp.StatusCode)
	}
	resp, _ = do(t, "PUT", u+TokenPath)
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, POST" {
		t.Errorf("PUT: %d", resp.StatusCode)
	}
}

func TestTokenEndpointWithoutTokenMode(t *testing.T) {
	srv, _, _ := newTestServer(t, basicConfig(t))
	if resp, _ := do(t, "GET", srv.URL+TokenPath, withBasic("writer", "w-pass")); resp.StatusCode != 404 {
		t.Fatalf("status %d, want 404", resp.StatusCode)
	}
}

func TestTokenOAuthPasswordGrant(t *testing.T) {
	srv, _, _ := newTestServer(t, tokenConfig(t))
	post := func(form url.Values) (*http.Response, map[string]any) {
		t.Helper()
		resp, err := http.PostForm(srv.URL+TokenPath, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return resp, m
	}
	resp, m := post(url.Values{
		"grant_type": {"password"}, "username": {"writer"}, "password": {"w-pass"},
		"service": {DefaultService}, "client_id": {"containerd"},
		"scope": {"repository:team/a:pull,push repository:team/b:pull"},
	})
	if resp.StatusCode != 200 || m["access_token"] == nil || m["scope"] != "repository:team/a:pull,push repository:team/b:pull" {
		t.Fatalf("password grant: %d %v", resp.StatusCode, m)
	}
	tok := m["access_token"].(string)
	if r, _ := do(t, "PUT", srv.URL+"/v2/team/a/blobs/uploads/x", withBearer(tok)); r.StatusCode != 200 {
		t.Fatalf("push with OAuth token: %d", r.StatusCode)
	}

	resp, m = post(url.Values{"grant_type": {"password"}, "username": {"writer"}, "password": {"bad"}, "service": {DefaultService}})
	if resp.StatusCode != 401 || m["error"] != "invalid_grant" {
		t.Errorf("bad password: %d %v", resp.StatusCode, m)
	}
	resp, m = post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "service": {DefaultService}})
	if resp.StatusCode != 400 || m["error"] != "unsupported_grant_type" {
		t.Errorf("refresh grant: %d %v", resp.StatusCode, m)
	}
}

func TestTamperedAndForeignTokensRefused(t *testing.T) {
	cfg := tokenConfig(t)
	srv, _, _ := newTestServer(t, cfg)
	_, tr := getToken(t, srv.URL, []string{"repository:team/a:pull"}, withBasic("reader", "r-pass"))
	parts := strings.Split(tr.Token, ".")

	// Payload rewritten to grant push on everything, signature kept.
	var claims map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	claims["access"] = []accessEntry{{"repository", "team/a", []string{"pull", "push", "delete"}}}
	forged, _ := json.Marshal(claims)
	payloadSwap := parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]

	// Signature bytes flipped.
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 0xff
	sigFlip := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)

	// alg "none".
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(claims)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}

	// Signed with another key, and one for another audience with the right key.
	other := tokenConfig(t)
	otherSrv, _, _ := newTestServer(t, other)
	_, foreign := getToken(t, otherSrv.URL, []string{"repository:team/a:pull"}, withBasic("reader", "r-pass"))
	sameKey := basicConfig(t)
	sameKey.Token = &TokenConfig{KeyFile: cfg.Token.KeyFile, Service: "someone-else"}
	sameKeySrv, _, _ := newTestServer(t, sameKey)
	q := url.Values{"service": {"someone-else"}, "scope": {"repository:team/a:pull"}}
	_, body := do(t, "GET", sameKeySrv.URL+TokenPath+"?"+q.Encode(), withBasic("reader", "r-pass"))
	var wrongAud tokenReply
	if err := json.Unmarshal([]byte(body), &wrongAud); err != nil || wrongAud.Token == "" {
		t.Fatalf("token for another service: %s", body)
	}

	for name, tok := range map[string]string{
		"payload swapped": payloadSwap, "signature flipped": sigFlip, "alg none": none,
		"other key": foreign.Token, "other audience": wrongAud.Token, "garbage": "abc.def.ghi", "empty": "",
	} {
		resp, body := do(t, "GET", srv.URL+"/v2/team/a/manifests/v1", withBearer(tok))
		_, p := parseChallenge(t, resp.Header.Get("WWW-Authenticate"))
		if resp.StatusCode != 401 || p["error"] != "invalid_token" {
			t.Errorf("%s: %d %v %s", name, resp.StatusCode, p, body)
		}
	}
	// The genuine token still works.
	if resp, _ := do(t, "GET", srv.URL+"/v2/team/a/manifests/v1", withBearer(tr.Token)); resp.StatusCode != 200 {
		t.Fatalf("genuine token: %d", resp.StatusCode)
	}
}

func TestTokenModeAcceptsBasicDirectly(t *testing.T) {
	srv, _, _ := newTestServer(t, tokenConfig(t))
	resp, body := do(t, "PUT", srv.URL+"/v2/team/a/manifests/v1", withBasic("writer", "w-pass"))
	if resp.StatusCode != 200 || body != "user=writer" {
		t.Fatalf("basic in token mode: %d %s", resp.StatusCode, body)
	}
	resp, _ = do(t, "PUT", srv.URL+"/v2/team/a/manifests/v1", withBasic("reader", "r-pass"))
	if resp.StatusCode != 403 {
		t.Fatalf("basic reader push in token mode: %d", resp.StatusCode)
	}
	resp, _ = do(t, "GET", srv.URL+"/v2/", withBasic("reader", "bad"))
	if scheme, _ := parseChallenge(t, resp.Header.Get("WWW-Authenticate")); resp.StatusCode != 401 || scheme != "Bearer" {
		t.Fatalf("bad basic in token mode: %d %s", resp.StatusCode, scheme)
	}
}

func TestAnonymousTokens(t *testing.T) {
	// With anonymous pull: an anonymous token grants pull only.
	cfg := tokenConfig(t)
	cfg.Rules = nil
	cfg.AnonymousPull = true
	srv, _, _ := newTestServer(t, cfg)
	if resp, _ := do(t, "GET", srv.URL+"/v2/"); resp.StatusCode != 200 {
		t.Fatalf("anonymous ping with anonymousPull: %d", resp.StatusCode)
	}
	status, tr := getToken(t, srv.URL, []string{"repository:lib/app:pull,push"})
	if status != 200 {
		t.Fatalf("anonymous token: %d", status)
	}
	claims, access := tokenAccess(t, tr.Token)
	if !reflect.DeepEqual(access, []accessEntry{{"repository", "lib/app", []string{"pull"}}}) || claims["sub"] != nil && claims["sub"] != "" {
		t.Fatalf("anonymous token claims = %v", claims)
	}
	if resp, _ := do(t, "GET", srv.URL+"/v2/lib/app/manifests/v1", withBearer(tr.Token)); resp.StatusCode != 200 {
		t.Fatalf("anonymous pull: %d", resp.StatusCode)
	}
	resp, _ := do(t, "PUT", srv.URL+"/v2/lib/app/manifests/v1", withBearer(tr.Token))
	if _, p := parseChallenge(t, resp.Header.Get("WWW-Authenticate")); resp.StatusCode != 401 || p["scope"] != "repository:lib/app:pull,push" {
		t.Fatalf("anonymous push: %d %v", resp.StatusCode, p)
	}

	// Without anonymous access: the endpoint still answers (Docker never
	// errors for scopes one cannot have) but grants nothing, and the ping
	// refuses the anonymous token.
	srv2, _, _ := newTestServer(t, tokenConfig(t))
	status, tr = getToken(t, srv2.URL, []string{"repository:team/a:pull"})
	if _, access = tokenAccess(t, tr.Token); status != 200 || len(access) != 0 {
		t.Fatalf("anonymous token without anonymous rules: %d %v", status, access)
	}
	if resp, _ := do(t, "GET", srv2.URL+"/v2/", withBearer(tr.Token)); resp.StatusCode != 401 {
		t.Fatalf("anonymous token on ping: %d", resp.StatusCode)
	}
}
