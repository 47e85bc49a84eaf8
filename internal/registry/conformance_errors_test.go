package registry_test

// Repository names, path traversal and the error body of every client error.

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestConformanceInvalidNames(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	d := string(digest.FromString("x"))
	bad := []string{
		"UPPER",
		"Mixed/case",
		"a..b",
		"a/../b",          // reaches the handler only encoded, see below
		"%2E%2E",          // ".." itself
		"foo/%2e%2e/bar",  // a ".." component
		"%2Fetc%2Fpasswd", // absolute-looking: "/etc/passwd"
		"foo%2F%2Fbar",    // an empty component
		"-lead",
		"trail-",
		"a_",
		"a___b",
		"a%20b",
		"a$b",
		"a%00b",
		"caf%C3%A9",
		strings.Repeat("a", 256),
		strings.Repeat("abcdefg/", 32) + "h", // 257 characters of valid components
	}
	endpoints := []struct{ method, suffix string }{
		{http.MethodGet, "/tags/list"},
		{http.MethodGet, "/manifests/latest"},
		{http.MethodPut, "/manifests/latest"},
		{http.MethodDelete, "/manifests/" + d},
		{http.MethodGet, "/blobs/" + d},
		{http.MethodDelete, "/blobs/" + d},
		{http.MethodPost, "/blobs/uploads/"},
		{http.MethodPatch, "/blobs/uploads/6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
		{http.MethodGet, "/referrers/" + d},
	}
	for _, name := range bad {
		if name == "a/../b" {
			continue // sent raw below: the router cleans it first
		}
		for _, ep := range endpoints {
			r := h.do(ep.method, "/v2/"+name+ep.suffix, []byte("{}"), "Content-Type", mtOCIManifest)
			expectError(t, ep.method+" "+name+ep.suffix, r, http.StatusBadRequest, "NAME_INVALID")
		}
	}
	// 255 characters is still a valid name: unknown, not invalid.
	long := strings.Repeat("abcdefg/", 31) + "abcdefg"
	if len(long) != 255 {
		t.Fatalf("test name has %d characters", len(long))
	}
	expectError(t, "255-character name", h.do(http.MethodGet, "/v2/"+long+"/tags/list", nil), http.StatusNotFound, "NAME_UNKNOWN")
	h.pushBlob(long, []byte("long"), digest.SHA256)
	expectStatus(t, "push to a 255-character name", h.do(http.MethodGet, "/v2/"+long+"/tags/list", nil), http.StatusOK)
}

// TestConformancePathTraversal: no request path reads anything outside
// the registry, whether the router cleans it or the handler sees it.
func TestConformancePathTraversal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	secret := "berth-traversal-canary"
	// The parent of the root belongs to this test (t.TempDir).
	if err := os.WriteFile(filepath.Join(filepath.Dir(h.root), "passwd"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	d := string(digest.FromString(secret))
	for _, p := range []string{
		"/v2/../etc/passwd/blobs/" + d,
		"/v2/../../passwd/manifests/latest",
		"/v2/foo/../../../passwd/tags/list",
		"/v2/%2e%2e/etc/passwd/blobs/" + d,
		"/v2/%2E%2E/%2E%2E/passwd/manifests/latest",
		"/v2/foo%2F..%2F..%2Fpasswd/tags/list",
		"/v2/%2F..%2Fpasswd/blobs/uploads/",
		"/v2//etc/passwd/blobs/" + d,
	} {
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			r := h.do(m, p, nil)
			if strings.Contains(string(r.body), secret) {
				t.Fatalf("%s %s served the file outside the root", m, p)
			}
			switch {
			case r.status/100 == 3:
				// The router cleaned the path; wherever it points, the
				// request never reached the API with ".." in a name.
				loc := r.header.Get("Location")
				if strings.Contains(loc, "..") {
					t.Fatalf("%s %s: redirect to %q", m, p, loc)
				}
				f := h.do(m, loc, nil)
				if f.status/100 == 2 || strings.Contains(string(f.body), secret) {
					t.Fatalf("%s %s -> %s: %s", m, p, loc, f)
				}
			case r.status == http.StatusBadRequest:
				expectError(t, m+" "+p, r, http.StatusBadRequest, "NAME_INVALID")
			default:
				t.Fatalf("%s %s: %s, want a redirect by the router or 400 NAME_INVALID", m, p, r)
			}
		}
	}
}

// TestConformanceErrorBodies sweeps client errors the other tests do not:
// each carries the spec's JSON body with the right code, and a HEAD only
// the status.
func TestConformanceErrorBodies(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	img := h.pushImage("errs", digest.SHA256, "v1", 70)
	loc := h.startUpload("errs", "")
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/v2/errs/blobs/sha256:abc", http.StatusBadRequest, "DIGEST_INVALID"},
		{http.MethodGet, "/v2/errs/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", http.StatusBadRequest, "DIGEST_INVALID"},
		{http.MethodGet, "/v2/errs/blobs/sha256:" + strings.ToUpper(img.digest.Encoded()), http.StatusBadRequest, "DIGEST_INVALID"},
		{http.MethodGet, "/v2/errs/blobs/not-a-digest", http.StatusBadRequest, "DIGEST_INVALID"},
		{http.MethodGet, "/v2/errs/manifests/sha256:abc", http.StatusBadRequest, "DIGEST_INVALID"},
		{http.MethodGet, "/v2/errs/manifests/-tag", http.StatusBadRequest, "TAG_INVALID"},
		{http.MethodGet, "/v2/errs/manifests/" + strings.Repeat("t", 129), http.StatusBadRequest, "TAG_INVALID"},
		{http.MethodPut, "/v2/errs/manifests/-tag", http.StatusBadRequest, "TAG_INVALID"},
		{http.MethodPost, "/v2/errs/blobs/uploads/?digest=sha256:abc", http.StatusBadRequest, "DIGEST_INVALID"},
		{http.MethodPost, "/v2/errs/blobs/uploads/?mount=sha256:abc&from=errs", http.StatusBadRequest, "DIGEST_INVALID"},
		{http.MethodGet, "/v2/errs/manifests/nope", http.StatusNotFound, "MANIFEST_UNKNOWN"},
		{http.MethodGet, "/v2/errs/blobs/" + string(digest.FromString("nope")), http.StatusNotFound, "BLOB_UNKNOWN"},
		{http.MethodGet, "/v2/errs/blobs/uploads/6ba7b810-9dad-11d1-80b4-00c04fd430c8", http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN"},
		{http.MethodGet, "/v2/nope/tags/list", http.StatusNotFound, "NAME_UNKNOWN"},
		// Methods an endpoint does not have.
		{http.MethodPost, "/v2/", http.StatusMethodNotAllowed, "UNSUPPORTED"},
		{http.MethodPut, "/v2/errs/blobs/" + string(img.digest), http.StatusMethodNotAllowed, "UNSUPPORTED"},
		{http.MethodPost, "/v2/errs/manifests/v1", http.StatusMethodNotAllowed, "UNSUPPORTED"},
		{http.MethodDelete, "/v2/errs/tags/list", http.StatusMethodNotAllowed, "UNSUPPORTED"},
		{http.MethodPut, "/v2/_catalog", http.StatusMethodNotAllowed, "UNSUPPORTED"},
		{http.MethodPost, "/v2/errs/referrers/" + string(img.digest), http.StatusMethodNotAllowed, "UNSUPPORTED"},
		{http.MethodGet, "/v2/errs/blobs/uploads/", http.StatusMethodNotAllowed, "UNSUPPORTED"},
		{http.MethodPost, loc, http.StatusMethodNotAllowed, "UNSUPPORTED"},
	} {
		what := tc.method + " " + tc.path
		expectError(t, what, h.do(tc.method, tc.path, nil), tc.status, tc.code)
		// The spec gives HEAD to blobs and manifests, not to uploads.
		if tc.method == http.MethodGet && !strings.Contains(tc.path, "/uploads/") {
			r := h.do(http.MethodHead, tc.path, nil)
			expectStatus(t, "HEAD "+tc.path, r, tc.status)
			if len(r.body) != 0 {
				t.Fatalf("HEAD %s: error with a body", tc.path)
			}
		}
	}
	// Paths that are no endpoint at all are still answered in the spec's form.
	for _, p := range []string{"/v2/errs", "/v2/errs/nothing", "/v2/errs/blobs", "/v2/_catalog/x"} {
		r := h.do(http.MethodGet, p, nil)
		if r.status/100 != 4 {
			t.Fatalf("GET %s: %s, want a 4xx", p, r)
		}
		errorBody(t, "GET "+p, r)
		expectHeader(t, "GET "+p, r, "Docker-Distribution-API-Version", "registry/2.0")
	}
}
