package console

import (
	"io"
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

// post POSTs form to u with c (origin, when set, as the Origin header).
func post(t *testing.T, c *http.Client, u string, form url.Values, origin string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// Deleting a tag or a manifest: the repository page's button (a POST with
// the CSRF token) opens a confirmation page naming what goes; only its
// button deletes. Both POSTs need the token; the registry's refusal
// (an immutable tag) is shown on the page; markup in a tag is text.
func TestRegistryDelete(t *testing.T) {
	ts, f, _ := newTestServer(t)
	c := client(t)
	csrf := login(t, ts, c)
	page := get(t, c, ts.URL+"/registry/repository?name="+url.QueryEscape("shop/web"), http.StatusOK)
	if !strings.Contains(page, `action="/registry/delete"`) || !strings.Contains(page, `name="ref" value="v1"`) || !strings.Contains(page, `name="ref" value="sha256:`+strings.Repeat("a", 64)+`"`) {
		t.Fatalf("repository page has no delete forms:\n%s", page)
	}

	for _, p := range []string{"/registry/delete", "/registry/delete/confirm"} {
		form := url.Values{"repo": {"shop/web"}, "ref": {"v1"}}
		if r, _ := post(t, c, ts.URL+p, form, "https://evil.example"); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s cross-site without the token: %s, want 403", p, r.Status)
		}
		form.Set("csrf", strings.Repeat("0", 64))
		if r, _ := post(t, c, ts.URL+p, form, ""); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s with a wrong token: %s, want 403", p, r.Status)
		}
		form.Set("csrf", csrf)
		if r, _ := post(t, c, ts.URL+p, form, "https://evil.example"); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s with the token from another origin: %s, want 403", p, r.Status)
		}
	}
	if len(f.deletes) != 0 {
		t.Fatalf("refused POSTs deleted: %v", f.deletes)
	}

	// The first POST only asks.
	r, confirm := post(t, c, ts.URL+"/registry/delete", url.Values{"repo": {"shop/web"}, "ref": {"v1"}, "csrf": {csrf}}, ts.URL)
	if r.StatusCode != http.StatusOK || !strings.Contains(confirm, "Delete tag v1 from shop/web?") || !strings.Contains(confirm, "sha256:"+strings.Repeat("1", 64)) ||
		!strings.Contains(confirm, `action="/registry/delete/confirm"`) || !strings.Contains(confirm, `name="csrf" value="`+csrf+`"`) {
		t.Fatalf("confirmation page: %s\n%s", r.Status, confirm)
	}
	if len(f.deletes) != 0 {
		t.Fatalf("the confirmation page deleted: %v", f.deletes)
	}
	r, _ = post(t, c, ts.URL+"/registry/delete/confirm", url.Values{"repo": {"shop/web"}, "ref": {"v1"}, "csrf": {csrf}}, ts.URL)
	if r.StatusCode != http.StatusSeeOther || len(f.deletes) != 1 || f.deletes[0] != "shop/web@v1" {
		t.Fatalf("confirmed delete: %s, deletes %v", r.Status, f.deletes)
	}
	page = get(t, c, ts.URL+r.Header.Get("Location"), http.StatusOK)
	if strings.Contains(page, `data-tag="v1"`) || !strings.Contains(page, "deleted shop/web@v1") {
		t.Errorf("repository page after the delete:\n%s", page)
	}

	// A manifest: the confirmation names every tag that goes with it.
	dg := "sha256:" + strings.Repeat("a", 64)
	_, confirm = post(t, c, ts.URL+"/registry/delete", url.Values{"repo": {"shop/web"}, "ref": {dg}, "csrf": {csrf}}, ts.URL)
	if !strings.Contains(confirm, "<strong>v2</strong>, <strong>latest</strong>") {
		t.Errorf("manifest confirmation does not name its tags:\n%s", confirm)
	}
	// Unknown tag or repository: 404, nothing deleted.
	if r, _ := post(t, c, ts.URL+"/registry/delete", url.Values{"repo": {"shop/web"}, "ref": {"nope"}, "csrf": {csrf}}, ts.URL); r.StatusCode != http.StatusNotFound {
		t.Errorf("confirming an unknown tag: %s", r.Status)
	}
	if r, _ := post(t, c, ts.URL+"/registry/delete/confirm", url.Values{"repo": {"nope"}, "ref": {"v1"}, "csrf": {csrf}}, ts.URL); r.StatusCode != http.StatusNotFound {
		t.Errorf("deleting from an unknown repository: %s", r.Status)
	}

	// The registry refuses (an immutable tag): the page says why.
	f.change(func(f *fakeDomain) { f.immutable = map[string]bool{"shop/web": true} })
	r, body := post(t, c, ts.URL+"/registry/delete/confirm", url.Values{"repo": {"shop/web"}, "ref": {"v2"}, "csrf": {csrf}}, ts.URL)
	if r.StatusCode != http.StatusConflict || !strings.Contains(body, "tag shop/web:v2 is immutable") || !strings.Contains(body, "Delete failed") {
		t.Errorf("refused delete: %s\n%s", r.Status, body)
	}
	if len(f.deletes) != 1 {
		t.Errorf("deletes after the refusal: %v", f.deletes)
	}

	// Markup in a repository and a tag is text on the confirmation page.
	f.change(func(f *fakeDomain) {
		f.repos["x"+xss] = []Tag{{Name: "t" + xss, Digest: "sha256:" + strings.Repeat("7", 64)}}
	})
	_, confirm = post(t, c, ts.URL+"/registry/delete", url.Values{"repo": {"x" + xss}, "ref": {"t" + xss}, "csrf": {csrf}}, ts.URL)
	if strings.Contains(confirm, "<script>alert") || strings.Contains(confirm, "<img src=x") || !strings.Contains(confirm, "&lt;script&gt;") {
		t.Errorf("confirmation page: markup not escaped:\n%s", confirm)
	}
}

// A repository's promotion records (referrers berth promote attached)
// make its environments table (each with the newest promotion into it)
// and its promotion history (newest first); markup in an environment,
// reference or host is text.
func TestRegistryPromotions(t *testing.T) {
	ts, f, _ := newTestServer(t)
	c := client(t)
	login(t, ts, c)
	page := get(t, c, ts.URL+"/registry/repository?name="+url.QueryEscape("shop/web"), http.StatusOK)
	if strings.Contains(page, `id="promotions"`) {
		t.Errorf("promotion history without records:\n%s", page)
	}
	d1, d2 := "sha256:"+strings.Repeat("1", 64), "sha256:"+strings.Repeat("a", 64)
	rec := func(d, from, to, ref string, at int64) Referrer {
		return Referrer{Digest: "sha256:" + strings.Repeat("e", 63) + string(rune('0'+at%10)), ArtifactType: "application/vnd.berth.promotion.v1+json",
			Promotion: &Promotion{Digest: d, FromEnv: from, FromRef: "reg.staging/shop/web:" + ref, ToEnv: to, ToRef: "reg.prod/shop/web:" + ref, Time: time.Unix(1700000000+at, 0), Host: "ci-1"}}
	}
	f.change(func(f *fakeDomain) {
		f.referrers[d1] = []Referrer{rec(d1, "staging", "prod", "v1", 1)}
		f.referrers[d2] = append(f.referrers[d2], rec(d2, "staging", "prod", "v2", 2), rec(d2, "dev", "staging", "v2", 0))
	})
	page = get(t, c, ts.URL+"/registry/repository?name="+url.QueryEscape("shop/web"), http.StatusOK)
	envs := page[strings.Index(page, `id="environments"`):]
	envs = envs[:strings.Index(envs, "</table>")]
	for _, want := range []string{`data-env="dev"`, "a source", `data-env="prod"`, `title="` + d2 + `"`, "reg.prod/shop/web:v2", `data-env="staging"`} {
		if !strings.Contains(envs, want) {
			t.Errorf("environments lack %q:\n%s", want, envs)
		}
	}
	if strings.Index(envs, `data-env="dev"`) > strings.Index(envs, `data-env="prod"`) || strings.Contains(envs, "reg.prod/shop/web:v1") {
		t.Errorf("environments: not sorted, or prod's last promotion is not the newest:\n%s", envs)
	}
	hist := page[strings.Index(page, `id="promotions"`):]
	hist = hist[:strings.Index(hist, "</table>")]
	i2, i1, i0 := strings.Index(hist, "reg.prod/shop/web:v2"), strings.Index(hist, "reg.prod/shop/web:v1"), strings.Index(hist, "<strong>dev</strong>")
	if i2 < 0 || i1 < 0 || i0 < 0 || !(i2 < i1 && i1 < i0) || !strings.Contains(hist, "ci-1") {
		t.Errorf("promotion history not newest first (%d %d %d):\n%s", i2, i1, i0, hist)
	}

	f.change(func(f *fakeDomain) {
		f.referrers[d1] = []Referrer{{Digest: d1, ArtifactType: "application/vnd.berth.promotion.v1+json", Promotion: &Promotion{Digest: d1, FromEnv: "e" + xss, FromRef: "r" + xss, ToEnv: "t" + xss, ToRef: xss, Host: xss}}}
	})
	page = get(t, c, ts.URL+"/registry/repository?name="+url.QueryEscape("shop/web"), http.StatusOK)
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") || !strings.Contains(page, "&lt;script&gt;") {
		t.Errorf("promotions: markup not escaped:\n%s", page)
	}
}
