package console

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/berth-dev/berth/internal/console/chromium"
)

// TestBrowserConsole drives Debian's chromium through the console over a
// fake domain: log in, see the services, see a change arrive without a
// reload (SSE), follow a log line, roll back through the confirmation dialog,
// and see markup in names, labels, tags and log lines stay text with no
// script run. Screenshots of each page go to the test's temp dir.
func TestBrowserConsole(t *testing.T) {
	ts, f, _ := newTestServer(t)
	// Markup in a second stack's service name, label and tag, and in a log
	// line: it must show as text, and no script may run.
	f.change(func(f *fakeDomain) {
		f.stacks = append(f.stacks, Stack{Name: "evil", Services: []Service{{Stack: "evil", Name: "x" + xss, Labels: map[string]string{"l" + xss: xss},
			Replicas: []Replica{{Name: "evil-x-1", Replica: 1, State: "running", Digest: "sha256:" + strings.Repeat("e", 64), Revision: 1}}}}})
		f.revisions["evil/x"+xss] = []Revision{{Number: 1, Image: "evil/x:" + xss, Digest: "sha256:" + strings.Repeat("e", 64), Outcome: "deployed", Current: true}}
	})
	shots := t.TempDir()
	ctx := chromium.New(t, 90*time.Second)
	wait := func(what, js string) {
		t.Helper()
		if err := chromium.Wait(ctx, 15*time.Second, js); err != nil {
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			t.Fatalf("waiting for %s: %v\npage:\n%s", what, err, body)
		}
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}

	// Not logged in: the page sends the browser to the login form.
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/")); err != nil {
		t.Fatal(err)
	}
	wait("the login form", `location.pathname === "/login" && !!document.querySelector("#user")`)
	chromium.Screenshot(t, ctx, shots, "login")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#user"), "ops"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login")),
	); err != nil {
		t.Fatal(err)
	}
	wait("the stacks page", `location.pathname === "/" && !!document.querySelector('tr[data-service="web"] .replicas')`)
	if got := eval(`document.querySelector('tr[data-service="web"] .replicas').textContent`); got != "2/2" {
		t.Errorf("web replicas %q, want 2/2", got)
	}
	wait("the live stream", `document.body.dataset.live === "open"`)
	chromium.Screenshot(t, ctx, shots, "stacks")

	// A replica goes down: the page shows it without a reload (the marker
	// set on this document survives only if the page is not reloaded).
	eval(`window.notReloaded = "yes"`)
	f.change(func(f *fakeDomain) {
		f.setReplicas("shop", "web", func(r *Replica) {
			if r.Replica == 2 {
				r.State, r.Health, r.Restarts = "restarting", "unhealthy", 4
			}
		})
	})
	wait("the change to arrive over SSE", `document.querySelector('tr[data-service="web"] .replicas').textContent === "1/2"`)
	if eval(`String(window.notReloaded)`) != "yes" {
		t.Error("the page reloaded to show the change")
	}
	if got := eval(`document.querySelector('tr[data-service="web"] .restarts').textContent`); got != "4" {
		t.Errorf("restarts %q after the change, want 4", got)
	}
	chromium.Screenshot(t, ctx, shots, "stacks-live")

	// The markup stays text: visible as typed, and no element or script from it.
	if !strings.Contains(eval(`document.body.innerText`), "x"+xss) {
		t.Errorf("the service name with markup is not shown as text")
	}
	if eval(`String(document.querySelectorAll("main script, main img").length)`) != "0" {
		t.Errorf("the payload became elements: %s", eval(`document.querySelector("main").innerHTML`))
	}

	// The service page: revisions, live logs.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`tr[data-service="web"] a`))); err != nil {
		t.Fatal(err)
	}
	wait("the service page", `!!document.querySelector('#revisions tr[data-revision="2"].current')`)
	wait("the log line written before", `document.querySelector("#logs").innerText.includes("listening on :80")`)
	wait("CPU and memory sparklines of both replicas", `document.querySelectorAll("#stats tr[data-replica] svg polyline").length === 4`)
	// A line written after the page opened (with markup); the fake's
	// channel holds it until the page's stream reads it.
	f.logc <- LogLine{Time: time.Now(), Source: "shop-web-1", Stream: "stdout", Text: "GET /checkout 200 " + xss + "\n"}
	wait("the new log line", `document.querySelector("#logs").innerText.includes("GET /checkout 200")`)
	if !strings.Contains(eval(`document.querySelector("#logs").innerText`), "GET /checkout 200 "+xss) {
		t.Error("the log line's markup is not shown as text")
	}
	if eval(`String(document.querySelectorAll("#logs script, #logs img").length)`) != "0" {
		t.Error("the log line's markup became elements")
	}
	chromium.Screenshot(t, ctx, shots, "service")

	// Roll back to revision 1: the confirmation (a dialog), then the new revision.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`tr[data-revision="1"] a.rollback`))); err != nil {
		t.Fatal(err)
	}
	wait("the confirmation page", `!!document.querySelector("#confirm")`)
	chromium.Screenshot(t, ctx, shots, "rollback-confirm")
	if len(f.rollbacks) != 0 {
		t.Fatalf("rolled back before the confirmation: %v", f.rollbacks)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#confirm"))); err != nil {
		t.Fatal(err)
	}
	wait("revision 3, a rollback of 1, current", `!!document.querySelector('#revisions tr[data-revision="3"].current') && document.querySelector('#revisions tr[data-revision="3"]').innerText.includes("rollback of 1")`)
	if got := eval(`document.querySelector('#replicas td.revision').textContent`); got != "3" {
		t.Errorf("the replicas run revision %q, want 3", got)
	}
	chromium.Screenshot(t, ctx, shots, "service-rolled-back")

	// The diff of revisions 1 and 2, from revision 2's link.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`tr[data-revision="2"] a.diff`))); err != nil {
		t.Fatal(err)
	}
	wait("the diff page", `!!document.querySelector("#diff-files") && document.querySelector("#diff-packages").innerText.includes("libssl3")`)
	chromium.Screenshot(t, ctx, shots, "revision-diff")

	// The XSS service's page: its name, label and tag as text.
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/stacks/evil/services/"+url.PathEscape("x"+xss))); err != nil {
		t.Fatal(err)
	}
	wait("the markup service's page", `!!document.querySelector("#revisions")`)
	body := eval(`document.body.innerText`)
	for _, want := range []string{"x" + xss, "l" + xss, "evil/x:" + xss} {
		if !strings.Contains(body, want) {
			t.Errorf("the page does not show %q as text", want)
		}
	}
	if eval(`String(document.querySelectorAll("main script, main img").length)`) != "0" {
		t.Errorf("the payload became elements")
	}
	if eval(`String(typeof window.alerted)`) != "undefined" {
		t.Error("a script from the payload ran")
	}

	// The registry pages: a repository's tags and referrers; a tag and a
	// repository name with markup stay text.
	f.change(func(f *fakeDomain) {
		f.repos["evil/"+xss] = []Tag{{Name: "t" + xss, Digest: "sha256:" + strings.Repeat("7", 64)}}
	})
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`nav a[href="/registry"]`))); err != nil {
		t.Fatal(err)
	}
	wait("the repositories", `!!document.querySelector('#repositories a[href="/registry/repository?name=shop%2fweb"]')`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#repositories a[href="/registry/repository?name=shop%2fweb"]`))); err != nil {
		t.Fatal(err)
	}
	wait("the repository page", `!!document.querySelector('#tags tr[data-tag="latest"]') && document.querySelectorAll("table.referrers tbody tr").length === 3`)
	chromium.Screenshot(t, ctx, shots, "registry-repository")

	// Delete tag v1: the confirmation page, then the page without it.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#tags tr[data-tag="v1"] button.delete-tag`))); err != nil {
		t.Fatal(err)
	}
	wait("the delete confirmation", `!!document.querySelector("#confirm") && document.body.innerText.includes("Delete tag v1 from shop/web?")`)
	chromium.Screenshot(t, ctx, shots, "registry-delete-confirm")
	if len(f.deletes) != 0 {
		t.Fatalf("deleted before the confirmation: %v", f.deletes)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#confirm"))); err != nil {
		t.Fatal(err)
	}
	wait("the repository without v1", `!!document.querySelector('#tags tr[data-tag="latest"]') && !document.querySelector('#tags tr[data-tag="v1"]') && document.body.innerText.includes("deleted shop/web@v1")`)
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/registry/repository?name="+url.QueryEscape("evil/"+xss))); err != nil {
		t.Fatal(err)
	}
	wait("the markup repository", `!!document.querySelector("#tags")`)
	if body := eval(`document.body.innerText`); !strings.Contains(body, "t"+xss) || !strings.Contains(body, "evil/"+xss) {
		t.Errorf("the tag or repository name with markup is not shown as text:\n%s", body)
	}
	if eval(`String(document.querySelectorAll("main script, main img").length)`) != "0" {
		t.Errorf("the payload became elements")
	}
}
