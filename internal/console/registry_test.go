package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRegistryPages(t *testing.T) {
	ts, f, _ := newTestServer(t)
	c := client(t)
	for _, p := range []string{"/registry", "/registry/repository?name=shop/web"} {
		resp, err := c.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("GET %s without a session: %s, want a redirect to /login", p, resp.Status)
		}
	}
	login(t, ts, c)
	if page := get(t, c, ts.URL+"/registry", http.StatusOK); !strings.Contains(page, `href="/registry/repository?name=shop%2fweb"`) {
		t.Errorf("repositories page:\n%s", page)
	}
	page := get(t, c, ts.URL+"/registry/repository?name="+url.QueryEscape("shop/web"), http.StatusOK)
	for _, want := range []string{`data-tag="v1"`, `data-tag="latest"`, "vnd.dev.sigstore.bundle.v0.3", "application/spdx", "(v2 latest )"} {
		if !strings.Contains(page, want) {
			t.Errorf("repository page lacks %q:\n%s", want, page)
		}
	}
	get(t, c, ts.URL+"/registry/repository?name=nope", http.StatusNotFound)

	// Markup in a tag, a repository name and an artifact type is text.
	f.change(func(f *fakeDomain) {
		f.repos["x"+xss] = []Tag{{Name: "t" + xss, Digest: "sha256:" + strings.Repeat("7", 64)}}
		f.referrers["sha256:"+strings.Repeat("7", 64)] = []Referrer{{Digest: "sha256:" + strings.Repeat("8", 64), ArtifactType: xss}}
	})
	for _, p := range []string{"/registry", "/registry/repository?name=" + url.QueryEscape("x"+xss)} {
		page := get(t, c, ts.URL+p, http.StatusOK)
		if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") || !strings.Contains(page, "&lt;script&gt;") {
			t.Errorf("%s: markup not escaped:\n%s", p, page)
		}
	}
}

// A registry's console: only the registry's pages; / leads to them.
func TestRegistryOnlyConsole(t *testing.T) {
	f := newFake()
	s, err := New(Config{Ports: Ports{Registry: f}, Token: "tok", Poll: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id, ses := s.sessions.create("ops")
	_ = ses
	do := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w
	}
	if w := do("/"); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/registry" {
		t.Errorf("/: %d to %q", w.Code, w.Header().Get("Location"))
	}
	if w := do("/stacks/shop/services/web"); w.Code != http.StatusNotFound {
		t.Errorf("a stack page on a registry console: %d", w.Code)
	}
	w := do("/registry")
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), ">Stacks<") {
		t.Errorf("/registry: %d\n%s", w.Code, w.Body.String())
	}
	if _, err := New(Config{Ports: Ports{Stacks: f}}); err == nil {
		t.Error("stacks without deploys and logs: no error")
	}
	if _, err := New(Config{}); err == nil {
		t.Error("no ports: no error")
	}
}
