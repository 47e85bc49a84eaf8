package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/berth-dev/berth/internal/console/chromium"
)

// TestConsoleDeployRollbackInBrowser is the console's acceptance in a real
// browser against a real daemon (`berth daemon --console`): log in, see
// both replicas of the example app healthy; `berth deploy` from the CLI
// shows the new revision on the open page without a reload; the service
// page's log view shows a line the app wrote after the page opened; roll
// back from the page (confirmation, CSRF-protected POST) and `berth ps`
// shows a new revision running the old digest. Screenshots go to the
// test's temp dir (and to $BERTH_CONSOLE_SCREENSHOTS).
func TestConsoleDeployRollbackInBrowser(t *testing.T) {
	need(t)
	if _, err := chromium.Path(); err != nil && os.Getenv("BERTH_REQUIRE_CHROMIUM") == "" {
		t.Skipf("no chromium: %v", err)
	}
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(dir, "console.htpasswd")
	if err := os.WriteFile(users, []byte("ops:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d := newDeployEnv(t, "consoleapp", appStack{Replicas: 2, DaemonArgs: []string{"--console", addr, "--console-users", users}})
	d.deploy("--set", "VERSION=1.0.0")
	d.waitServing(2, "1.0.0")
	base := "http://" + addr

	ctx := chromium.New(t, 8*time.Minute)
	shots := filepath.Join(dir, "screenshots")
	wait := func(what, js string) {
		t.Helper()
		if err := chromium.Wait(ctx, 90*time.Second, js); err != nil {
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
	cell := func(class string) string {
		return `(document.querySelector('tr[data-service="app"] .` + class + `') || {}).textContent`
	}

	// Log in.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	wait("the login form", `location.pathname === "/login" && !!document.querySelector("#user")`)
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#user"), "ops"),
		chromedp.SendKeys(chromedp.CSS("#password"), "s3cret pass"),
		chromedp.Click(chromedp.CSS("#login")),
	); err != nil {
		t.Fatal(err)
	}
	wait("both replicas healthy on revision 1", cell("replicas")+` === "2/2" && `+cell("health")+` === "healthy" && `+cell("revision")+` === "1"`)
	wait("the live stream", `document.body.dataset.live === "open"`)
	chromium.Screenshot(t, ctx, shots, "stacks")

	// A deploy from the CLI: the open page shows revision 2, not reloaded.
	eval(`window.notReloaded = "yes"`)
	d.deploy("--set", "VERSION=2.0.0")
	wait("revision 2 without a reload", cell("revision")+` === "2" && `+cell("replicas")+` === "2/2"`)
	if eval(`String(window.notReloaded)`) != "yes" {
		t.Error("the stacks page reloaded")
	}

	// The service page; a deploy while it is open: the new revision and
	// the new replicas' first log line arrive live.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`tr[data-service="app"] a`))); err != nil {
		t.Fatal(err)
	}
	wait("the service page at revision 2", `!!document.querySelector('#revisions tr[data-revision="2"].current')`)
	wait("CPU and memory sparklines of both replicas (berth stats' samples)", `document.querySelectorAll("#stats tr[data-replica] svg polyline").length === 4`)
	eval(`window.notReloaded = "yes"`)
	if strings.Contains(eval(`document.querySelector("#logs").innerText`), "goapp 3.0.0") {
		t.Fatal("3.0.0's log line before it was deployed")
	}
	d.deploy("--set", "VERSION=3.0.0")
	wait("revision 3 current without a reload", `!!document.querySelector('#revisions tr[data-revision="3"].current')`)
	wait("the log line 3.0.0's replicas wrote", `document.querySelector("#logs").innerText.includes("goapp 3.0.0 listening")`)
	if eval(`String(window.notReloaded)`) != "yes" {
		t.Error("the service page reloaded")
	}
	chromium.Screenshot(t, ctx, shots, "service")

	// Roll back to revision 1 from the page.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`tr[data-revision="1"] a.rollback`))); err != nil {
		t.Fatal(err)
	}
	wait("the confirmation page", `!!document.querySelector("#confirm")`)
	chromium.Screenshot(t, ctx, shots, "rollback-confirm")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#confirm"))); err != nil {
		t.Fatal(err)
	}
	wait("revision 4, a rollback of 1, current", `!!document.querySelector('#revisions tr[data-revision="4"].current') && document.querySelector('#revisions tr[data-revision="4"]').innerText.includes("rollback of 1")`)
	chromium.Screenshot(t, ctx, shots, "service-rolled-back")

	// berth ps: every replica runs revision 4 with 1.0.0's digest.
	var ps []struct {
		Service  string `json:"service"`
		State    string `json:"state"`
		Image    string `json:"image"`
		Revision int    `json:"revision"`
	}
	out := d.berth("ps", "-p", d.project, "--json")
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatalf("berth ps --json: %v\n%s", err, out)
	}
	want := d.images.digests["1.0.0"]
	n := 0
	for _, c := range ps {
		if c.Service != "app" || c.State != "running" {
			continue
		}
		n++
		if c.Revision != 4 {
			t.Errorf("berth ps: an app replica runs revision %d, want 4:\n%s", c.Revision, out)
		}
		if !imageIs(c.Image, want) {
			t.Errorf("berth ps: an app replica runs %s, want 1.0.0's %s", c.Image, want)
		}
	}
	if n != 2 {
		t.Errorf("berth ps: %d running app replicas, want 2:\n%s", n, out)
	}
	d.waitServing(2, "1.0.0")

	// The image page of the digest running now: its layer table is the
	// one berth inspect --json reports for the same image.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#replicas a[href="/images/`+want+`"]`))); err != nil {
		t.Fatal(err)
	}
	wait("the image page", `!!document.querySelector("#layers tbody tr")`)
	chromium.Screenshot(t, ctx, shots, "image")
	type layerRow struct {
		Digest string `json:"digest"`
		Size   int64  `json:"size"`
		Files  int    `json:"files"`
		Inodes int    `json:"inodes"`
	}
	var shown []layerRow
	rows := eval(`JSON.stringify([...document.querySelectorAll("#layers tbody tr")].map(r => ({digest: r.dataset.digest, size: Number(r.dataset.size), files: Number(r.dataset.files), inodes: Number(r.dataset.inodes)})))`)
	if err := json.Unmarshal([]byte(rows), &shown); err != nil {
		t.Fatalf("%v: %s", err, rows)
	}
	var report struct {
		Digest string     `json:"digest"`
		Layers []layerRow `json:"layers"`
	}
	out = d.berth("inspect", "--json", d.reg+"/example/app@"+want)
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("berth inspect --json: %v\n%s", err, out)
	}
	if report.Digest != want || len(report.Layers) == 0 || fmt.Sprint(shown) != fmt.Sprint(report.Layers) {
		t.Errorf("the image page's layers %+v, berth inspect --json's %+v (digest %s)", shown, report.Layers, report.Digest)
	}
	d.finish()
}

// imageIs tells whether a container's image (a digest, or a reference
// pinned by one) is digest.
func imageIs(image, digest string) bool {
	return digest != "" && (image == digest || strings.HasSuffix(image, "@"+digest))
}
