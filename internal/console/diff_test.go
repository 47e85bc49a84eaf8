package console

import (
	"net/http"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/inspect"
)

// The diff of two revisions: reachable from the service page (a link per
// revision and a compare form), it shows the file, package and image
// configuration changes the Images port computes, and whether the deploy
// configuration changed; a session is required, bad or unknown revisions
// are errors, and markup in a path, package or setting is text.
func TestRevisionDiffPage(t *testing.T) {
	ts, f, _ := newTestServer(t)
	c := client(t)
	resp, err := c.Get(ts.URL + "/stacks/shop/services/web/diff?from=1&to=2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
		t.Errorf("the diff page without a session: %s", resp.Status)
	}
	login(t, ts, c)
	svc := get(t, c, ts.URL+"/stacks/shop/services/web", http.StatusOK)
	for _, want := range []string{`href="/stacks/shop/services/web/diff?from=1&amp;to=2"`, `action="/stacks/shop/services/web/diff"`, `<option value="1" selected>`, `<option value="2" selected>`} {
		if !strings.Contains(svc, want) {
			t.Errorf("service page lacks %q:\n%s", want, svc)
		}
	}
	page := get(t, c, ts.URL+"/stacks/shop/services/web/diff?from=1&to=2", http.StatusOK)
	for _, want := range []string{"revision 1 → 2", "/app/goapp", "content", "/etc/new.conf", "libssl3", "3.0.11-1~deb12u2", "env VERSION", `id="config-changed"`, "Files (2)", "Debian packages (1)"} {
		if !strings.Contains(page, want) {
			t.Errorf("diff page lacks %q:\n%s", want, page)
		}
	}
	// The same image: no diff computed.
	n := f.diffed
	page = get(t, c, ts.URL+"/stacks/shop/services/web/diff?from=2&to=2", http.StatusOK)
	if !strings.Contains(page, `id="same-image"`) || f.diffed != n {
		t.Errorf("same revision: diffed %d times\n%s", f.diffed-n, page)
	}
	get(t, c, ts.URL+"/stacks/shop/services/web/diff?from=x&to=2", http.StatusBadRequest)
	get(t, c, ts.URL+"/stacks/shop/services/web/diff?from=1&to=9", http.StatusNotFound)
	get(t, c, ts.URL+"/stacks/shop/services/web/diff?from=2&to=1", http.StatusNotFound) // the fake has no such diff: ErrNoImage

	f.change(func(f *fakeDomain) {
		f.diffs["sha256:"+strings.Repeat("1", 64)+"→sha256:"+strings.Repeat("a", 64)] = &inspect.DiffReport{
			Files:    []inspect.FileChange{{Path: "/x" + xss, Change: "added", Type: "file"}},
			Packages: []inspect.PackageChange{{Name: "p" + xss, Change: "added", To: xss}},
			Config:   []inspect.ConfigChange{{Field: "label " + xss, Change: "added", To: xss}},
		}
	})
	page = get(t, c, ts.URL+"/stacks/shop/services/web/diff?from=1&to=2", http.StatusOK)
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") || !strings.Contains(page, "&lt;script&gt;") {
		t.Errorf("diff page: markup not escaped:\n%s", page)
	}
}
