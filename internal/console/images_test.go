package console

import (
	"net/http"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/inspect"
)

func TestImagePage(t *testing.T) {
	ts, f, _ := newTestServer(t)
	c := client(t)
	// Without a session: to the login page.
	resp, err := c.Get(ts.URL + "/images/sha256:" + strings.Repeat("a", 64))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("image page without a session: %s", resp.Status)
	}
	login(t, ts, c)
	d := "sha256:" + strings.Repeat("a", 64)
	page := get(t, c, ts.URL+"/images/"+d, http.StatusOK)
	for _, want := range []string{`data-layer="0" data-digest="sha256:` + strings.Repeat("b", 64) + `" data-size="2097152" data-files="10" data-inodes="16"`, "debian packages", "app binary", "98.0%", "/app/goapp"} {
		if !strings.Contains(page, want) {
			t.Errorf("image page lacks %q:\n%s", want, page)
		}
	}
	get(t, c, ts.URL+"/images/"+d, http.StatusOK)
	if f.inspects != 1 {
		t.Errorf("%d inspections for two views of one digest, want 1 (cached)", f.inspects)
	}
	get(t, c, ts.URL+"/images/sha256:"+strings.Repeat("f", 64), http.StatusNotFound)
	get(t, c, ts.URL+"/images/latest", http.StatusBadRequest)
	// The service page links its digests to the image page.
	if svc := get(t, c, ts.URL+"/stacks/shop/services/web", http.StatusOK); !strings.Contains(svc, `href="/images/`+d+`"`) {
		t.Errorf("the service page does not link the image:\n%s", svc)
	}
}

func TestImagePageEscapesMarkup(t *testing.T) {
	ts, f, _ := newTestServer(t)
	d := "sha256:" + strings.Repeat("9", 64)
	f.change(func(f *fakeDomain) {
		f.images[d] = &inspect.Report{Digest: d, Layers: []inspect.Layer{{Concern: xss, CreatedBy: xss}},
			LargestFiles: []inspect.File{{Path: "/x" + xss}}, Config: inspect.Config{Labels: map[string]string{xss: xss}}}
	})
	c := client(t)
	login(t, ts, c)
	page := get(t, c, ts.URL+"/images/"+d, http.StatusOK)
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") {
		t.Errorf("markup rendered:\n%s", page)
	}
}
