package auth

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// fakeClock lets tests move time forward instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// writeHtpasswd writes an htpasswd file with bcrypt entries (minimum cost,
// to keep tests fast) for user/password pairs and returns its path.
func writeHtpasswd(t *testing.T, dir string, pairs ...string) string {
	t.Helper()
	if len(pairs)%2 != 0 {
		t.Fatal("writeHtpasswd wants user/password pairs")
	}
	var b strings.Builder
	for i := 0; i < len(pairs); i += 2 {
		h, err := bcrypt.GenerateFromPassword([]byte(pairs[i+1]), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(pairs[i] + ":" + string(h) + "\n")
	}
	p := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// registryStub stands in for the registry: it derives the scopes a request
// needs from its path and method the way the real server does, asks the
// Authorizer and answers 200 with the user name when allowed.
func registryStub(a *Authorizer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(TokenPath, a.TokenHandler())
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		need := neededScopes(r)
		user, err := a.Authorize(r, need)
		if err != nil {
			a.WriteError(w, r, need, err)
			return
		}
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		_, _ = io.WriteString(w, "user="+user)
	})
	return mux
}

func neededScopes(r *http.Request) []Scope {
	p := strings.TrimPrefix(r.URL.Path, "/v2/")
	if p == "" {
		return nil
	}
	if p == "_catalog" {
		return []Scope{CatalogScope}
	}
	for _, kind := range []string{"/manifests/", "/blobs/", "/tags/"} {
		if i := strings.LastIndex(p, kind); i > 0 {
			name := p[:i]
			switch r.Method {
			case http.MethodGet, http.MethodHead:
				return []Scope{RepositoryScope(name, ActionPull)}
			case http.MethodDelete:
				return []Scope{RepositoryScope(name, ActionDelete)}
			default:
				return []Scope{RepositoryScope(name, ActionPull, ActionPush)}
			}
		}
	}
	return []Scope{{Type: "unknown", Name: p, Actions: []string{"x"}}}
}

// newTestServer builds an Authorizer with a fake clock and serves the stub.
func newTestServer(t *testing.T, cfg Config) (*httptest.Server, *Authorizer, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	a, err := newWithClock(cfg, clock.Now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(registryStub(a))
	t.Cleanup(srv.Close)
	return srv, a, clock
}

type reqOpt func(*http.Request)

func withBasic(user, pass string) reqOpt {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

func withBearer(tok string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func withHeader(k, v string) reqOpt {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, method, url string, opts ...reqOpt) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}
