package console

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/berth-dev/berth/internal/console/chromium"
)

// unnamedControlsJS lists the focusable controls (inputs, selects,
// buttons, links) with no accessible name: no aria-label, no
// aria-labelledby text, no <label>, no text of their own, no title.
const unnamedControlsJS = `(() => {
  const name = (el) => {
    const al = el.getAttribute("aria-label");
    if (al && al.trim()) return al;
    const lb = el.getAttribute("aria-labelledby");
    if (lb) {
      const t = lb.split(/\s+/).map((id) => document.getElementById(id)).filter(Boolean).map((e) => e.textContent).join(" ").trim();
      if (t) return t;
    }
    if (el.labels && el.labels.length) {
      const t = Array.from(el.labels).map((l) => l.textContent).join(" ").trim();
      if (t) return t;
    }
    if (el.matches("button, a")) {
      const t = el.textContent.trim();
      if (t) return t;
    }
    if (el.matches("input[type=submit], input[type=button]") && el.value) return el.value;
    const ti = el.getAttribute("title");
    return ti ? ti.trim() : "";
  };
  const out = [];
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea, button, a[href], [tabindex]:not([tabindex='-1'])")) {
    if (!name(el)) out.push(el.outerHTML.slice(0, 160));
  }
  return JSON.stringify(out);
})()`

// colorJS defines the colour helpers of the checks: parse (a computed
// colour), over (alpha compositing), ratio (WCAG contrast) and background
// (an element's effective background: its and its ancestors' background
// colours composited up to the first opaque one, white under all).
const colorJS = `
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, under) => ({ r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a), b: top.b * top.a + under.b * (1 - top.a), a: 1 });
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const ratio = (x, y) => (Math.max(lum(x), lum(y)) + 0.05) / (Math.min(lum(x), lum(y)) + 0.05);
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let bg = { r: 255, g: 255, b: 255, a: 1 };
    for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
    return bg;
  };
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().replace(/\s+/g, ".") : "");
`

// lowContrastJS lists every visible text's element whose text colour has
// a contrast ratio under 4.5:1 (WCAG AA) with its effective background.
const lowContrastJS = `(() => {` + colorJS + `
  const out = [];
  const seen = new Set();
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || seen.has(el)) continue;
    seen.add(el);
    const cs = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    if (cs.visibility !== "visible" || r.width <= 1 || r.height <= 1 || r.right <= 0 || r.bottom <= 0) continue; // not seen (the skip link off-screen, .sr)
    const bg = background(el);
    const q = ratio(over(parse(cs.color), bg), bg);
    if (q < 4.5) out.push(describe(el) + " \"" + n.textContent.trim().slice(0, 40) + "\" " + cs.color + " on " + JSON.stringify(bg) + ": " + q.toFixed(2));
  }
  return JSON.stringify(out);
})()`

// focusRingJS checks the focused element's focus indicator: an outline
// at least 2px wide whose colour has 3:1 contrast (WCAG 1.4.11) with the
// background around it (its parent's); "" when it does.
const focusRingJS = `(() => {` + colorJS + `
  const el = document.activeElement;
  const s = getComputedStyle(el);
  if (s.outlineStyle === "none" || parseFloat(s.outlineWidth) < 2) return describe(el) + ": no focus outline (" + s.outlineStyle + " " + s.outlineWidth + ")";
  const bg = background(el.parentElement || el);
  const q = ratio(over(parse(s.outlineColor), bg), bg);
  return q < 3 ? describe(el) + ": focus outline " + s.outlineColor + " on " + JSON.stringify(bg) + ": " + q.toFixed(2) : "";
})()`

// a11yBrowser is a chromium tab with the checks of a11y_browser_test.go.
type a11yBrowser struct {
	t   *testing.T
	ctx context.Context
}

func (b *a11yBrowser) eval(js string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return v
}

func (b *a11yBrowser) wait(what, js string) {
	b.t.Helper()
	if err := chromium.Wait(b.ctx, 15*time.Second, js); err != nil {
		body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerHTML : ""`))
		b.t.Fatalf("waiting for %s: %v\npage:\n%s", what, err, body)
	}
}

func (b *a11yBrowser) keys(keys ...string) {
	b.t.Helper()
	for _, k := range keys {
		if err := chromedp.Do(b.ctx, chromedp.KeyEvent(k)); err != nil {
			b.t.Fatalf("key %q: %v", k, err)
		}
	}
}

// check runs the name and contrast checks on the page open as what.
func (b *a11yBrowser) check(what string) {
	b.t.Helper()
	for _, c := range []struct{ js, problem string }{
		{unnamedControlsJS, "controls without an accessible name"},
		{lowContrastJS, "text under 4.5:1 contrast"},
	} {
		var bad []string
		if err := json.Unmarshal([]byte(b.eval(c.js)), &bad); err != nil {
			b.t.Fatal(err)
		}
		for _, x := range bad {
			b.t.Errorf("%s: %s: %s", what, c.problem, x)
		}
	}
}

// open navigates to u and waits until the page is there (ready is true).
func (b *a11yBrowser) open(u, ready string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(u)); err != nil {
		b.t.Fatal(err)
	}
	b.wait(u, `document.readyState === "complete" && (`+ready+`)`)
}

// TestBrowserAccessibility checks every page of the console in chromium:
// each control has an accessible name, every visible text has 4.5:1
// contrast with its background, and the service page works from the
// keyboard alone: the skip link is the first stop and moves focus to the
// main content, Tab reaches the rollback link, Enter opens the
// confirmation dialog with focus in it, Escape closes it and gives focus
// back, and Enter on its button rolls back.
func TestBrowserAccessibility(t *testing.T) {
	ts, f, _ := newTestServer(t)
	b := &a11yBrowser{t: t, ctx: chromium.New(t, 120*time.Second)}
	shots := t.TempDir()

	b.open(ts.URL+"/login", `!!document.querySelector("#user")`)
	b.check("login")
	b.keys(kb.Tab)
	if got := b.eval(`document.activeElement.className + " " + document.activeElement.getAttribute("href")`); got != "skip #main" {
		t.Errorf("login: the first Tab stop is %q, want the skip link", got)
	}
	if err := chromedp.Do(b.ctx,
		chromedp.SendKeys(chromedp.CSS("#user"), "ops"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login")),
	); err != nil {
		t.Fatal(err)
	}
	b.wait("the stacks page", `location.pathname === "/" && document.body.dataset.live === "open"`)
	b.check("stacks")
	// Every Tab stop of the stacks page (header, nav, the services) shows
	// a focus outline that stands out from what is around it.
	for i := 0; i < 20; i++ {
		b.keys(kb.Tab)
		if b.eval(`String(document.activeElement === document.body)`) == "true" {
			break // past the last stop
		}
		if bad := b.eval(focusRingJS); bad != "" {
			t.Errorf("stacks, Tab stop %d: %s", i+1, bad)
		}
	}

	for _, p := range []struct{ path, ready string }{
		{"/stacks/shop/services/web/rollback?to=1", `!!document.querySelector("#confirm")`},
		{"/stacks/shop/services/web/diff?from=1&to=2", `!!document.querySelector("#diff-files")`},
		{"/images/sha256:" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", `!!document.querySelector("#layers")`},
		{"/registry/repository?name=nope", `!!document.querySelector(".error")`},
		{"/registry", `!!document.querySelector("#repositories")`},
		{"/registry/repository?name=shop%2fweb", `!!document.querySelector("#tags")`},
	} {
		b.open(ts.URL+p.path, p.ready)
		b.check(p.path)
	}
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`#tags tr[data-tag="v1"] button.delete-tag`))); err != nil {
		t.Fatal(err)
	}
	b.wait("the delete confirmation", `!!document.querySelector("#confirm")`)
	b.check("the delete confirmation")

	// The service page from the keyboard.
	b.open(ts.URL+"/stacks/shop/services/web", `document.body.dataset.live === "open" && Number(document.body.dataset.updates) > 0 && document.querySelectorAll("#stats svg").length > 0`)
	b.check("service")
	// A failed log stream's line, as console.js adds it, on the logs' dark
	// panel.
	b.eval(`(() => { const li = document.createElement("li"); li.className = "error"; li.textContent = "reading the logs failed"; document.getElementById("logs").appendChild(li); return ""; })()`)
	b.check("service, a failed log stream")
	b.eval(`(() => { document.querySelector("#logs li.error").remove(); return ""; })()`)
	b.keys(kb.Tab)
	if got := b.eval(`document.activeElement.className + " " + document.activeElement.getAttribute("href")`); got != "skip #main" {
		t.Fatalf("service: the first Tab stop is %q, want the skip link", got)
	}
	if got := b.eval(`String(document.activeElement.getBoundingClientRect().left >= 0)`); got != "true" {
		t.Errorf("the focused skip link stays off-screen")
	}
	chromium.Screenshot(t, b.ctx, shots, "a11y-skip-link")
	b.keys(kb.Enter)
	b.wait("focus on the main content after the skip link", `document.activeElement.id === "main"`)
	const onRollback = `document.activeElement.matches("a.rollback")`
	for i := 0; i < 60 && b.eval(`String(`+onRollback+`)`) != "true"; i++ {
		b.keys(kb.Tab)
	}
	if b.eval(`String(`+onRollback+`)`) != "true" {
		t.Fatalf("60 Tabs from the main content never reached the rollback link (focus on %s)", b.eval(`document.activeElement.outerHTML`))
	}
	if bad := b.eval(focusRingJS); bad != "" {
		t.Errorf("the focused rollback link: %s", bad)
	}
	b.keys(kb.Enter)
	b.wait("the confirmation dialog, focus in it", `!!document.querySelector("dialog[open]") && document.querySelector("dialog[open]").contains(document.activeElement)`)
	b.check("the rollback dialog")
	chromium.Screenshot(t, b.ctx, shots, "rollback-dialog")
	if len(f.rollbacks) != 0 {
		t.Fatalf("rolled back on opening the dialog: %v", f.rollbacks)
	}
	b.keys(kb.Escape)
	b.wait("the dialog closed, focus back on the rollback link", `!document.querySelector("dialog[open]") && document.activeElement.matches('a.rollback[href$="to=1"]')`)
	b.keys(kb.Enter)
	b.wait("the dialog again", `!!document.querySelector("dialog[open]") && document.querySelector("dialog[open]").contains(document.activeElement)`)
	for i := 0; i < 10 && b.eval(`document.activeElement.id`) != "confirm"; i++ {
		b.keys(kb.Tab)
	}
	if b.eval(`document.activeElement.id`) != "confirm" {
		t.Fatalf("Tab in the dialog never reached its button (focus on %s)", b.eval(`document.activeElement.outerHTML`))
	}
	b.keys(kb.Enter)
	b.wait("revision 3, a rollback of 1, current", `!!document.querySelector('#revisions tr[data-revision="3"].current')`)
	if len(f.rollbacks) != 1 {
		t.Errorf("rollbacks %v, want one", f.rollbacks)
	}

	// The read-only pages of a console open to anonymous readers.
	anon, _, _ := newTestServerWith(t, func(c *Config) { c.AnonymousRead = true })
	b.anonymous(anon)
}

func (b *a11yBrowser) anonymous(ts *httptest.Server) {
	b.t.Helper()
	for _, p := range []struct{ path, ready string }{
		{"/", `document.body.dataset.live === "open"`},
		{"/stacks/shop/services/web", `document.body.dataset.live === "open" && !!document.querySelector("a.login-to-act")`},
		{"/registry/repository?name=shop%2fweb", `!!document.querySelector("#tags a.login-to-act")`},
	} {
		b.open(ts.URL+p.path, p.ready)
		b.check("read-only " + p.path)
	}
}
