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

// With anonymous reading allowed, every page and stream reads without a
// session and shows the read-only state (a login link, no form that would
// fail, no action button); every action still needs a session, and the
// domain is not touched.
func TestAnonymousReadOnly(t *testing.T) {
	ts, f, _ := newTestServerWith(t, func(c *Config) { c.AnonymousRead = true })
	c := client(t)
	for _, p := range readPages {
		page := get(t, c, ts.URL+p, http.StatusOK)
		if !strings.Contains(page, `id="readonly"`) || !strings.Contains(page, `href="/login?next=`) {
			t.Errorf("GET %s anonymously: no read-only notice with a login link:\n%s", p, page)
		}
		for _, bad := range []string{`name="csrf"`, `method="post"`, `class="button rollback"`, "Log out"} {
			if strings.Contains(page, bad) {
				t.Errorf("GET %s anonymously: the page has %s, an action that would fail", p, bad)
			}
		}
	}
	// The login links lead back: to the page, and to a revision's
	// rollback confirmation.
	page := get(t, c, ts.URL+"/stacks/shop/services/web", http.StatusOK)
	if !strings.Contains(page, `href="/login?next=%2Fstacks%2Fshop%2Fservices%2Fweb"`) {
		t.Errorf("the service page's login link does not lead back to it:\n%s", page)
	}
	if !strings.Contains(page, `class="login-to-act" href="/login?next=%2fstacks%2fshop%2fservices%2fweb%2frollback%3fto%3d1">Log in to roll back to 1<`) {
		t.Errorf("revision 1 has no login link to its rollback:\n%s", page)
	}
	if !strings.Contains(get(t, c, ts.URL+"/registry/repository?name=shop%2fweb", http.StatusOK), `aria-label="Log in to delete tag v1"`) {
		t.Errorf("the repository page has no login link for deleting v1")
	}

	// The streams answer, and the service stream's fragment has login
	// links, not rollback links.
	for _, p := range streams {
		first := firstEvent(t, c, ts.URL+p, p == "/events/stacks/shop/services/web/logs")
		if p == "/events/stacks/shop/services/web" && (strings.Contains(first, `class="button rollback"`) || !strings.Contains(first, "Log in to roll back to 1")) {
			t.Errorf("the service stream's fragment for an anonymous reader:\n%s", first)
		}
	}

	// Every action: a confirmation page redirects to /login, a POST is
	// 401 (even with a token-looking field), nothing happens.
	for _, p := range actionPages {
		resp, err := c.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
			t.Errorf("GET %s anonymously: %s to %q, want a redirect to /login", p, resp.Status, resp.Header.Get("Location"))
		}
	}
	for _, p := range actions {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+p, strings.NewReader(url.Values{"to": {"1"}, "csrf": {strings.Repeat("0", 64)}, "repo": {"shop/web"}, "ref": {"v1"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", ts.URL)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST %s anonymously: %s, want 401", p, resp.Status)
		}
	}
	if len(f.rollbacks) != 0 || len(f.deletes) != 0 {
		t.Errorf("anonymous actions ran: rollbacks %v, deletes %v", f.rollbacks, f.deletes)
	}

	// Logged in, the same console shows the actions again.
	csrf := login(t, ts, c)
	page = get(t, c, ts.URL+"/stacks/shop/services/web", http.StatusOK)
	if !strings.Contains(page, `class="button rollback"`) || strings.Contains(page, `id="readonly"`) || !strings.Contains(page, csrf) {
		t.Errorf("logged in, the service page lacks its actions:\n%s", page)
	}
	if first := firstEvent(t, c, ts.URL+"/events/stacks/shop/services/web", false); !strings.Contains(first, `class="button rollback"`) {
		t.Errorf("logged in, the service stream's fragment lacks the rollback link:\n%s", first)
	}
}

// firstEvent opens the event stream u and returns its first event; with
// headersOnly (a stream that sends only what happens later, like logs)
// it returns once the stream answered 200.
func firstEvent(t *testing.T, c *http.Client, u string, headersOnly bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	cc := *c
	cc.Timeout = 0
	resp, err := cc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s anonymously: %s %q, want 200 and an event stream", u, resp.Status, resp.Header.Get("Content-Type"))
	}
	if headersOnly {
		return ""
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var ev strings.Builder
	for sc.Scan() {
		if sc.Text() == "" && ev.Len() > 0 {
			return ev.String()
		}
		ev.WriteString(sc.Text() + "\n")
	}
	t.Fatalf("GET %s: the stream ended without an event: %v", u, sc.Err())
	return ""
}
