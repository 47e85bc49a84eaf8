package auth

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

// ociError decodes the OCI error body and returns its first code.
func ociError(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || len(e.Errors) == 0 {
		t.Fatalf("body %q is not an OCI error: %v", body, err)
	}
	if e.Errors[0].Message == "" {
		t.Fatalf("body %q has no message", body)
	}
	return e.Errors[0].Code
}

func basicConfig(t *testing.T) Config {
	t.Helper()
	return Config{
		Htpasswd: writeHtpasswd(t, t.TempDir(), "writer", "w-pass", "reader", "r-pass", "admin", "a-pass"),
		Groups:   map[string][]string{"admins": {"admin"}},
		Rules: []Rule{
			{Repositories: []string{"team/**"}, Users: []string{"writer"}, Actions: []string{"pull", "push"}},
			{Repositories: []string{"team/**"}, Users: []string{"reader"}, Actions: []string{"pull"}},
			{Repositories: []string{"**"}, Groups: []string{"admins"}, Actions: []string{"*"}},
		},
	}
}

func TestBasicModeAuthorization(t *testing.T) {
	srv, _, _ := newTestServer(t, basicConfig(t))
	u := srv.URL
	tests := []struct {
		name       string
		method     string
		path       string
		opts       []reqOpt
		wantStatus int
		wantCode   string
	}{
		{"ping without credentials", "GET", "/v2/", nil, 401, "UNAUTHORIZED"},
		{"ping with credentials", "GET", "/v2/", []reqOpt{withBasic("reader", "r-pass")}, 200, ""},
		{"ping with a wrong password", "GET", "/v2/", []reqOpt{withBasic("reader", "nope")}, 401, "UNAUTHORIZED"},
		{"ping with an unknown user", "GET", "/v2/", []reqOpt{withBasic("ghost", "r-pass")}, 401, "UNAUTHORIZED"},
		{"unsupported scheme", "GET", "/v2/", []reqOpt{withHeader("Authorization", "Digest x=y")}, 401, "UNAUTHORIZED"},
		{"bearer without token mode", "GET", "/v2/", []reqOpt{withBearer("abc")}, 401, "UNAUTHORIZED"},
		{"reader pulls", "GET", "/v2/team/app/manifests/latest", []reqOpt{withBasic("reader", "r-pass")}, 200, ""},
		{"reader cannot push", "PUT", "/v2/team/app/manifests/latest", []reqOpt{withBasic("reader", "r-pass")}, 403, "DENIED"},
		{"reader cannot start an upload", "POST", "/v2/team/app/blobs/uploads/", []reqOpt{withBasic("reader", "r-pass")}, 403, "DENIED"},
		{"reader cannot delete", "DELETE", "/v2/team/app/manifests/sha256:abc", []reqOpt{withBasic("reader", "r-pass")}, 403, "DENIED"},
		{"reader outside team", "GET", "/v2/other/app/manifests/latest", []reqOpt{withBasic("reader", "r-pass")}, 403, "DENIED"},
		{"writer pushes", "PUT", "/v2/team/app/manifests/latest", []reqOpt{withBasic("writer", "w-pass")}, 200, ""},
		{"writer cannot delete", "DELETE", "/v2/team/app/manifests/latest", []reqOpt{withBasic("writer", "w-pass")}, 403, "DENIED"},
		{"admin deletes anywhere", "DELETE", "/v2/x/y/z/blobs/sha256:abc", []reqOpt{withBasic("admin", "a-pass")}, 200, ""},
		{"pull without credentials", "GET", "/v2/team/app/manifests/latest", nil, 401, "UNAUTHORIZED"},
		{"catalog for any authenticated user", "GET", "/v2/_catalog", []reqOpt{withBasic("reader", "r-pass")}, 200, ""},
		{"catalog without credentials", "GET", "/v2/_catalog", nil, 401, "UNAUTHORIZED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, tt.method, u+tt.path, tt.opts...)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tt.wantStatus, body)
			}
			if v := resp.Header.Get("Docker-Distribution-API-Version"); v != "registry/2.0" {
				t.Errorf("Docker-Distribution-API-Version = %q", v)
			}
			challenge := resp.Header.Get("WWW-Authenticate")
			switch tt.wantStatus {
			case 401:
				if challenge != `Basic realm="berth registry",charset="UTF-8"` {
					t.Errorf("WWW-Authenticate = %q", challenge)
				}
			default:
				if challenge != "" {
					t.Errorf("WWW-Authenticate = %q on %d", challenge, tt.wantStatus)
				}
			}
			if tt.wantCode != "" {
				if got := ociError(t, body); got != tt.wantCode {
					t.Errorf("code = %s, want %s", got, tt.wantCode)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type = %q", ct)
				}
			}
			if strings.Contains(body, "-pass") {
				t.Errorf("body %q echoes a password", body)
			}
		})
	}
}

func TestAuthorizeReturnsUserAndErrorKinds(t *testing.T) {
	a, err := New(basicConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/v2/team/app/manifests/latest", nil)
	req.SetBasicAuth("reader", "r-pass")
	user, err := a.Authorize(req, []Scope{RepositoryScope("team/app", ActionPull)})
	if err != nil || user != "reader" {
		t.Fatalf("Authorize = %q, %v", user, err)
	}
	_, err = a.Authorize(req, []Scope{RepositoryScope("team/app", ActionPull, ActionPush)})
	if !errors.Is(err, ErrDenied) || errors.Is(err, ErrUnauthorized) {
		t.Fatalf("push by reader: err = %v, want ErrDenied", err)
	}
	req.SetBasicAuth("reader", "wrong")
	if _, err = a.Authorize(req, nil); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("wrong password: err = %v, want ErrUnauthorized", err)
	}
}

func TestCustomBasicRealm(t *testing.T) {
	cfg := basicConfig(t)
	cfg.Realm = `Acme "prod"`
	srv, _, _ := newTestServer(t, cfg)
	resp, _ := do(t, "GET", srv.URL+"/v2/")
	if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="Acme \"prod\"",charset="UTF-8"` {
		t.Fatalf("WWW-Authenticate = %q", got)
	}
}

func TestAnonymousPull(t *testing.T) {
	cfg := Config{
		Htpasswd:      writeHtpasswd(t, t.TempDir(), "alice", "a"),
		AnonymousPull: true,
	}
	srv, _, _ := newTestServer(t, cfg)
	u := srv.URL

	resp, body := do(t, "GET", u+"/v2/")
	if resp.StatusCode != 200 || body != "user=" {
		t.Fatalf("anonymous ping: %d %s", resp.StatusCode, body)
	}
	resp, _ = do(t, "GET", u+"/v2/any/repo/manifests/latest")
	if resp.StatusCode != 200 {
		t.Fatalf("anonymous pull: %d", resp.StatusCode)
	}
	// Anonymous push must be challenged (401), not denied (403): docker
	// only sends credentials after a challenge.
	for _, m := range []string{"PUT", "POST", "PATCH", "DELETE"} {
		resp, body = do(t, m, u+"/v2/any/repo/blobs/uploads/x")
		if resp.StatusCode != 401 || ociError(t, body) != "UNAUTHORIZED" || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("anonymous %s: %d %s %q", m, resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
		}
	}
	// With no rules, the logged-in user may still do everything.
	resp, body = do(t, "PUT", u+"/v2/any/repo/manifests/latest", withBasic("alice", "a"))
	if resp.StatusCode != 200 || body != "user=alice" {
		t.Fatalf("alice push: %d %s", resp.StatusCode, body)
	}
	// Wrong credentials are refused even where anonymous would pass.
	resp, _ = do(t, "GET", u+"/v2/any/repo/manifests/latest", withBasic("alice", "wrong"))
	if resp.StatusCode != 401 {
		t.Fatalf("wrong password on anonymous-readable repo: %d", resp.StatusCode)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	pw := writeHtpasswd(t, t.TempDir(), "a", "a")
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"unknown action", Config{Htpasswd: pw, Rules: []Rule{{Repositories: []string{"x"}, Users: []string{"a"}, Actions: []string{"admin"}}}}, "rules[0].actions[0]"},
		{"empty rule", Config{Htpasswd: pw, Rules: []Rule{{}}}, "rules[0]"},
		{"relative token realm", Config{Htpasswd: pw, Token: &TokenConfig{Realm: "/auth/token"}}, "token.realm"},
		{"ftp token realm", Config{Htpasswd: pw, Token: &TokenConfig{Realm: "ftp://x/auth"}}, "token.realm"},
		{"tiny expiry", Config{Htpasswd: pw, Token: &TokenConfig{Expiry: 5}}, "token.expiry"},
		{"negative expiry", Config{Htpasswd: pw, Token: &TokenConfig{Expiry: -1}}, "token.expiry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}

func TestEmptyNeedIsThePing(t *testing.T) {
	a, err := New(basicConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/v2/", nil)
	if _, err := a.Authorize(req, []Scope{}); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("anonymous with an empty, non-nil need: err = %v, want ErrUnauthorized", err)
	}
}
