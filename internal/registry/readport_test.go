package registry_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestLocalReader: the read port serves the one repository's manifests by
// digest, blobs and the base without credentials, and refuses writes,
// other repositories, plain tags and the catalog.
func TestLocalReader(t *testing.T) {
	h := newHarness(t)
	a := h.pushImage("app", digest.SHA256, "1.0", 1)
	h.pushImage("other", digest.SHA256, "1.0", 1)
	rt := h.reg.LocalReader("app")
	get := func(method, path string) (*http.Response, error) {
		req, _ := http.NewRequest(method, "http://localhost"+path, nil)
		return rt.RoundTrip(req)
	}
	for _, p := range []string{"/v2/", "/v2/app/manifests/" + string(a.digest)} {
		resp, err := get(http.MethodGet, p)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %v", p, resp, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if len(b) == 0 {
			t.Errorf("GET %s: empty body", p)
		}
	}
	for _, c := range []struct{ method, path, want string }{
		{http.MethodPut, "/v2/app/manifests/1.0", "read-only"},
		{http.MethodGet, "/v2/other/manifests/" + string(a.digest), "only repository app"},
		{http.MethodGet, "/v2/app/manifests/1.0", "by digest or signature tag only"},
		{http.MethodGet, "/v2/_catalog", "not a manifest"},
	} {
		if _, err := get(c.method, c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: %v, want %q", c.method, c.path, err, c.want)
		}
	}
}
