package console

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The console's routes by what they do: pages that read, the streams
// scripts read, and actions (a confirmation page, the POSTs).
var (
	readPages = []string{"/", "/stacks/shop/services/web", "/stacks/shop/services/web/diff?from=1&to=2",
		"/images/sha256:" + strings.Repeat("a", 64), "/registry", "/registry/repository?name=shop%2fweb"}
	streams = []string{"/events/stacks", "/events/stacks/shop/services/web", "/events/stacks/shop/services/web/logs",
		"/events/stacks/shop/services/web/stats"}
	actionPages = []string{"/stacks/shop/services/web/rollback?to=1"}
	actions     = []string{"/stacks/shop/services/web/rollback", "/logout", "/registry/delete", "/registry/delete/confirm"}
)

// Nothing is readable without a session (anonymous reading is off by
// default): pages redirect to /login, the event streams and every POST
// answer 401, and the domain is not touched.
func TestEverythingNeedsASession(t *testing.T) {
	ts, f, _ := newTestServer(t)
	c := client(t)
	for _, p := range readPages {
		resp, err := c.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
			t.Errorf("GET %s without a session: %s to %q, want a redirect to /login", p, resp.Status, resp.Header.Get("Location"))
		}
	}
	for _, p := range actionPages {
		resp, err := c.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
			t.Errorf("GET %s without a session: %s to %q, want a redirect to /login", p, resp.Status, resp.Header.Get("Location"))
		}
	}
	for _, p := range streams {
		resp, err := c.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without a session: %s, want 401", p, resp.Status)
		}
	}
	for _, p := range actions {
		resp, err := c.PostForm(ts.URL+p, url.Values{"to": {"1"}, "csrf": {"x"}, "repo": {"shop/web"}, "ref": {"v1"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST %s without a session: %s, want 401", p, resp.Status)
		}
	}
	// A made-up session id is no session.
	u, _ := url.Parse(ts.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: strings.Repeat("ab", 32)}})
	resp, err := c.Get(ts.URL + "/events/stacks")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a forged session id: %s, want 401", resp.Status)
	}
	if len(f.rollbacks) != 0 || len(f.deletes) != 0 {
		t.Errorf("rollbacks %v, deletes %v without a session", f.rollbacks, f.deletes)
	}
}

func TestLoginWrongPasswordAndOneTimeToken(t *testing.T) {
	ts, _, _ := newTestServer(t)
	try := func(form url.Values) int {
		c := client(t)
		m := csrfField.FindStringSubmatch(get(t, c, ts.URL+"/login", http.StatusOK))
		form.Set("csrf", m[1])
		resp, err := c.PostForm(ts.URL+"/login", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := try(url.Values{"user": {"ops"}, "password": {"wrong"}}); got != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", got)
	}
	if got := try(url.Values{"user": {"nobody"}, "password": {testPassword}}); got != http.StatusUnauthorized {
		t.Errorf("unknown user: %d", got)
	}
	tok := url.Values{"token": {"tok-" + strings.Repeat("9", 20)}}
	if got := try(tok); got != http.StatusSeeOther {
		t.Errorf("the token: %d, want a login", got)
	}
	if got := try(tok); got != http.StatusUnauthorized {
		t.Errorf("the token a second time: %d, want 401 (it is one-time)", got)
	}
	// The login form itself needs its CSRF token.
	c := client(t)
	get(t, c, ts.URL+"/login", http.StatusOK)
	resp, err := c.PostForm(ts.URL+"/login", url.Values{"user": {"ops"}, "password": {testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login without its CSRF token: %s, want 403", resp.Status)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	ts, _, _ := newTestServer(t)
	c := client(t)
	m := csrfField.FindStringSubmatch(get(t, c, ts.URL+"/login", http.StatusOK))
	// Behind a TLS proxy that says so: the cookie is Secure.
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/login", strings.NewReader(url.Values{"csrf": {m[1]}, "user": {"ops"}, "password": {testPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var sc *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			sc = ck
		}
	}
	if sc == nil {
		t.Fatal("no session cookie")
	}
	if !sc.HttpOnly || !sc.Secure || sc.SameSite != http.SameSiteStrictMode || len(sc.Value) != 64 {
		t.Errorf("session cookie %+v: want HttpOnly, Secure, SameSite=Strict and a 32-byte random id", sc)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
}

// A POST without the session's CSRF token, or from another origin, is
// refused with 403 and changes nothing; with it, the rollback runs.
func TestRollbackNeedsCSRFToken(t *testing.T) {
	ts, f, _ := newTestServer(t)
	c := client(t)
	csrf := login(t, ts, c)
	post := func(form url.Values, origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/stacks/shop/services/web/rollback", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post(url.Values{"to": {"1"}}, "https://evil.example"); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST without the token: %s, want 403", r.Status)
	}
	if r := post(url.Values{"to": {"1"}, "csrf": {strings.Repeat("0", 64)}}, ""); r.StatusCode != http.StatusForbidden {
		t.Errorf("POST with a wrong token: %s, want 403", r.Status)
	}
	if r := post(url.Values{"to": {"1"}, "csrf": {csrf}}, "https://evil.example"); r.StatusCode != http.StatusForbidden {
		t.Errorf("POST with the token from another origin: %s, want 403", r.Status)
	}
	if len(f.rollbacks) != 0 {
		t.Fatalf("refused POSTs rolled back: %v", f.rollbacks)
	}
	r := post(url.Values{"to": {"1"}, "csrf": {csrf}}, ts.URL)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST with the token: %s", r.Status)
	}
	if len(f.rollbacks) != 1 || f.rollbacks[0] != "shop/web to 1" {
		t.Errorf("rollbacks: %v", f.rollbacks)
	}
	page := get(t, c, ts.URL+r.Header.Get("Location"), http.StatusOK)
	if !strings.Contains(page, "rolled back to revision 1") || !strings.Contains(page, "rollback of 1") {
		t.Errorf("service page after the rollback:\n%s", page)
	}
}

const xss = `<script>alert(1)</script><img src=x onerror=alert(2)>`

// Markup in a service name, a label, a log line or an image tag is
// rendered as text.
func TestMarkupIsEscaped(t *testing.T) {
	ts, f, _ := newTestServer(t)
	f.change(func(f *fakeDomain) {
		sv := &f.stacks[0].Services[0]
		sv.Name = "web" + xss
		sv.Labels = map[string]string{"note" + xss: "v" + xss}
		f.revisions["shop/web"+xss] = []Revision{{Number: 1, Image: "shop/web:" + xss, Digest: "sha256:" + xss, Outcome: "deployed", Current: true}}
		f.logs = append(f.logs, LogLine{Source: "shop-web-1", Stream: "stdout", Text: "log" + xss})
	})
	c := client(t)
	login(t, ts, c)
	for _, p := range []string{"/", "/stacks/shop/services/" + url.PathEscape("web"+xss)} {
		page := get(t, c, ts.URL+p, http.StatusOK)
		if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") {
			t.Errorf("%s renders the payload as markup:\n%s", p, page)
		}
		if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s does not show the payload as text:\n%s", p, page)
		}
	}
}

// The stacks stream pushes the page's live part when something changes,
// and nothing while nothing does.
func TestStacksStreamPushesChanges(t *testing.T) {
	ts, f, _ := newTestServer(t)
	c := client(t)
	login(t, ts, c)
	c.Timeout = 0
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/events/stacks", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var ev strings.Builder
		for sc.Scan() {
			if sc.Text() == "" {
				events <- ev.String()
				ev.Reset()
				continue
			}
			ev.WriteString(sc.Text() + "\n")
		}
		close(events)
	}()
	next := func() string {
		select {
		case e := <-events:
			return e
		case <-ctx.Done():
			t.Fatal("no event")
			return ""
		}
	}
	first := next()
	if !strings.Contains(first, "event: update") || !strings.Contains(first, "2/2") {
		t.Fatalf("first event:\n%s", first)
	}
	// Several polls with nothing changed: no event.
	select {
	case e := <-events:
		t.Fatalf("an event with nothing changed:\n%s", e)
	case <-time.After(300 * time.Millisecond):
	}
	f.change(func(f *fakeDomain) {
		f.setReplicas("shop", "web", func(r *Replica) {
			if r.Replica == 2 {
				r.State, r.Restarts = "restarting", 3
			}
		})
	})
	second := next()
	if !strings.Contains(second, "1/2") || !strings.Contains(second, `class="restarts">3<`) {
		t.Errorf("event after a change:\n%s", second)
	}
}

// With no stream open the hub stops reading the domain.
func TestHubStopsWithoutWatchers(t *testing.T) {
	_, _, s := newTestServer(t)
	_, cancel := s.hub.subscribe()
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.hub.mu.Lock()
		running := s.hub.running
		s.hub.mu.Unlock()
		if !running {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the poller keeps running with nobody watching")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestParseUsers(t *testing.T) {
	good := "# ops\nops:$2y$05$abcdefghijklmnopqrstuu5J2d1xUe2ZC6YFoQXjmUnSxlS9IC/2u\n\n"
	if _, err := ParseUsers("users", []byte(good)); err != nil {
		t.Errorf("good file: %v", err)
	}
	for in, want := range map[string]string{
		"ops\n":                    "users:1: want NAME:BCRYPT-HASH",
		"ops:{SHA}abc\n":           `users:1: user "ops": the password is not a bcrypt hash`,
		"# c\nbad user:$2y$05$x\n": `users:2: user name "bad user"`,
	} {
		_, err := ParseUsers("users", []byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"/stacks/a/services/b": "/stacks/a/services/b", "//evil.example/": "/", "https://evil.example": "/", "/\\evil": "/", "": "/"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// A session ends at its expiry: the id no longer opens anything.
func TestSessionExpires(t *testing.T) {
	ts, _, s := newTestServer(t)
	c := client(t)
	login(t, ts, c)
	get(t, c, ts.URL+"/", http.StatusOK)
	s.sessions.mu.Lock()
	s.sessions.now = func() time.Time { return time.Now().Add(13 * time.Hour) }
	s.sessions.mu.Unlock()
	resp, err := c.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the session's expiry: %s, want a redirect to /login", resp.Status)
	}
	s.sessions.mu.Lock()
	n := len(s.sessions.m)
	s.sessions.mu.Unlock()
	if n != 0 {
		t.Errorf("%d sessions left in the table after expiry", n)
	}
}

// A POST body beyond the forms' size is refused, not read into memory.
func TestLargePostRefused(t *testing.T) {
	ts, f, _ := newTestServer(t)
	c := client(t)
	csrf := login(t, ts, c)
	form := url.Values{"to": {"1"}, "csrf": {csrf}, "pad": {strings.Repeat("x", 1<<20)}}
	resp, err := c.PostForm(ts.URL+"/stacks/shop/services/web/rollback", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 || len(f.rollbacks) != 0 {
		t.Errorf("a 1 MiB form: %s, rollbacks %v", resp.Status, f.rollbacks)
	}
}
