package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestPagesLabelsAndSkipLink parses every page as served (logged in, and
// read-only without a session) and checks what needs no browser: the
// page has a language; its first focusable element is the skip link to
// <main id="main">; every input, select, textarea and button has an
// accessible name (aria-label, aria-labelledby, a <label>, its own text,
// a title) and every link a text; ids are unique (labels point at them).
// TestBrowserAccessibility checks contrast and the keyboard in chromium.
func TestPagesLabelsAndSkipLink(t *testing.T) {
	ts, _, _ := newTestServer(t)
	c := client(t)
	checkA11y(t, "/login", get(t, c, ts.URL+"/login", http.StatusOK))
	csrf := login(t, ts, c)
	for _, p := range []string{"/", "/stacks/shop/services/web", "/stacks/shop/services/web/rollback?to=1",
		"/stacks/shop/services/web/diff?from=1&to=2", "/images/sha256:" + strings.Repeat("a", 64),
		"/registry", "/registry/repository?name=shop%2fweb"} {
		checkA11y(t, p, get(t, c, ts.URL+p, http.StatusOK))
	}
	checkA11y(t, "an error page", get(t, c, ts.URL+"/registry/repository?name=nope", http.StatusNotFound))
	resp, err := c.PostForm(ts.URL+"/registry/delete", url.Values{"csrf": {csrf}, "repo": {"shop/web"}, "ref": {"v1"}})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	checkA11y(t, "the delete confirmation", b.String())

	anon, _, _ := newTestServerWith(t, func(c *Config) { c.AnonymousRead = true })
	for _, p := range []string{"/", "/stacks/shop/services/web", "/registry/repository?name=shop%2fweb"} {
		checkA11y(t, "read-only "+p, get(t, client(t), anon.URL+p, http.StatusOK))
	}
}

// checkA11y reports page's problems (see TestPagesLabelsAndSkipLink).
func checkA11y(t *testing.T, what, page string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var all []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			all = append(all, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	ids := map[string]*html.Node{}
	labelFor := map[string]string{}
	for _, n := range all {
		if id := attr(n, "id"); id != "" {
			if _, dup := ids[id]; dup {
				t.Errorf("%s: id %q twice", what, id)
			}
			ids[id] = n
		}
		if n.Data == "label" && attr(n, "for") != "" {
			labelFor[attr(n, "for")] += text(n)
		}
	}
	first := true
	for _, n := range all {
		switch n.Data {
		case "html":
			if attr(n, "lang") == "" {
				t.Errorf("%s: <html> has no lang", what)
			}
		}
		if !focusable(n) {
			continue
		}
		if first {
			first = false
			if n.Data != "a" || attr(n, "class") != "skip" || attr(n, "href") != "#main" {
				t.Errorf("%s: the first focusable element is %s, want the skip link to #main", what, render(n))
			}
			if m := ids["main"]; m == nil || m.Data != "main" {
				t.Errorf("%s: the skip link leads nowhere: no <main id=\"main\">", what)
			}
		}
		if accessibleName(n, ids, labelFor) == "" {
			t.Errorf("%s: no accessible name: %s", what, render(n))
		}
	}
	if first {
		t.Errorf("%s: nothing focusable, not even a skip link", what)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

// focusable: what Tab stops at (or a form control, which needs a name
// even when disabled).
func focusable(n *html.Node) bool {
	switch n.Data {
	case "a":
		return hasAttr(n, "href")
	case "input":
		return attr(n, "type") != "hidden"
	case "select", "textarea", "button":
		return true
	}
	ti := attr(n, "tabindex")
	return ti != "" && !strings.HasPrefix(ti, "-")
}

func accessibleName(n *html.Node, ids map[string]*html.Node, labelFor map[string]string) string {
	if s := strings.TrimSpace(attr(n, "aria-label")); s != "" {
		return s
	}
	for _, id := range strings.Fields(attr(n, "aria-labelledby")) {
		if l := ids[id]; l != nil && text(l) != "" {
			return text(l)
		}
	}
	if id := attr(n, "id"); id != "" && strings.TrimSpace(labelFor[id]) != "" {
		return labelFor[id]
	}
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.Data == "label" {
			if s := text(p); s != "" {
				return s
			}
		}
	}
	if n.Data == "a" || n.Data == "button" {
		if s := text(n); s != "" {
			return s
		}
	}
	return strings.TrimSpace(attr(n, "title"))
}

func render(n *html.Node) string {
	var b strings.Builder
	_ = html.Render(&b, n)
	if b.Len() > 160 {
		return b.String()[:160] + "…"
	}
	return b.String()
}
