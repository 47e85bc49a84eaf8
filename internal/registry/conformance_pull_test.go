package registry_test

// Pull: the API base, blob HEAD/GET with ranges, manifest HEAD/GET.

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestConformancePing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, path := range []string{"/v2/", "/v2"} {
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			r := h.do(m, path, nil)
			expectStatus(t, m+" "+path, r, http.StatusOK)
			expectHeader(t, m+" "+path, r, "Docker-Distribution-API-Version", "registry/2.0")
		}
	}
	// Errors carry the version header too: docker's ping looks for it.
	r := h.do(http.MethodGet, "/v2/missing/blobs/sha256:"+zeros(64), nil)
	expectHeader(t, "404", r, "Docker-Distribution-API-Version", "registry/2.0")
}

func zeros(n int) string { return string(bytes.Repeat([]byte("0"), n)) }

func TestConformanceBlobPull(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			const repo = "pull/blob"
			data := content(3000, 7)
			d := alg.FromBytes(data)
			path := "/v2/" + repo + "/blobs/" + string(d)

			// Missing: HEAD 404 without body, GET 404 BLOB_UNKNOWN.
			r := h.do(http.MethodHead, path, nil)
			expectStatus(t, "HEAD missing blob", r, http.StatusNotFound)
			if len(r.body) != 0 {
				t.Fatalf("HEAD missing blob has a body: %q", r.body)
			}
			expectError(t, "GET missing blob", h.do(http.MethodGet, path, nil), http.StatusNotFound, "BLOB_UNKNOWN")

			h.pushBlob(repo, data, alg)

			r = h.do(http.MethodHead, path, nil)
			expectStatus(t, "HEAD blob", r, http.StatusOK)
			expectHeader(t, "HEAD blob", r, "Content-Length", "3000")
			expectHeader(t, "HEAD blob", r, "Docker-Content-Digest", string(d))
			if r.header.Get("Content-Type") == "" {
				t.Fatal("HEAD blob: no Content-Type")
			}
			if len(r.body) != 0 {
				t.Fatalf("HEAD blob has a body of %d bytes", len(r.body))
			}

			r = h.do(http.MethodGet, path, nil)
			expectStatus(t, "GET blob", r, http.StatusOK)
			expectHeader(t, "GET blob", r, "Content-Length", "3000")
			expectHeader(t, "GET blob", r, "Docker-Content-Digest", string(d))
			if r.header.Get("Content-Type") == "" {
				t.Fatal("GET blob: no Content-Type")
			}
			if !bytes.Equal(r.body, data) {
				t.Fatalf("GET blob: body differs (%d bytes)", len(r.body))
			}

			// A blob of another repository is not served here.
			expectError(t, "GET blob of another repo", h.do(http.MethodGet, "/v2/pull/other/blobs/"+string(d), nil),
				http.StatusNotFound, "BLOB_UNKNOWN")

			for _, tc := range []struct {
				rng        string
				start, end int // inclusive
			}{
				{"bytes=500-1499", 500, 1499},
				{"bytes=500-", 500, 2999},
				{"bytes=-500", 2500, 2999},
				{"bytes=2000-5000", 2000, 2999}, // end clamped to the blob
				{"bytes=0-0", 0, 0},
				{"bytes=2999-2999", 2999, 2999},
			} {
				r := h.do(http.MethodGet, path, nil, "Range", tc.rng)
				what := "GET Range: " + tc.rng
				expectStatus(t, what, r, http.StatusPartialContent)
				want := data[tc.start : tc.end+1]
				if !bytes.Equal(r.body, want) {
					t.Fatalf("%s: got %d bytes, want bytes %d-%d", what, len(r.body), tc.start, tc.end)
				}
				expectHeader(t, what, r, "Content-Range", "bytes "+strconv.Itoa(tc.start)+"-"+strconv.Itoa(tc.end)+"/3000")
				expectHeader(t, what, r, "Content-Length", strconv.Itoa(len(want)))
				expectHeader(t, what, r, "Docker-Content-Digest", string(d))
			}
			for _, rng := range []string{"bytes=500-0", "bytes=3000-", "bytes=5000-10000", "bytes=3000-3001"} {
				r := h.do(http.MethodGet, path, nil, "Range", rng)
				expectStatus(t, "GET Range: "+rng, r, http.StatusRequestedRangeNotSatisfiable)
				expectHeader(t, "GET Range: "+rng, r, "Content-Range", "bytes */3000")
				errorBody(t, "GET Range: "+rng, r)
			}
			// Multiple ranges are not served as multipart: the whole blob.
			r = h.do(http.MethodGet, path, nil, "Range", "bytes=0-1,5-6")
			expectStatus(t, "GET multi-range", r, http.StatusOK)
			if !bytes.Equal(r.body, data) {
				t.Fatal("GET multi-range: not the whole blob")
			}
		})
	}
}

func TestConformanceEmptyBlob(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			d := h.pushBlob("empty", []byte{}, alg)
			path := "/v2/empty/blobs/" + string(d)
			r := h.do(http.MethodHead, path, nil)
			expectStatus(t, "HEAD empty blob", r, http.StatusOK)
			expectHeader(t, "HEAD empty blob", r, "Content-Length", "0")
			expectHeader(t, "HEAD empty blob", r, "Docker-Content-Digest", string(d))
			r = h.do(http.MethodGet, path, nil)
			expectStatus(t, "GET empty blob", r, http.StatusOK)
			if len(r.body) != 0 {
				t.Fatalf("GET empty blob: %d bytes", len(r.body))
			}
			// No byte of an empty blob can be selected.
			r = h.do(http.MethodGet, path, nil, "Range", "bytes=0-")
			expectStatus(t, "GET empty blob with Range", r, http.StatusRequestedRangeNotSatisfiable)
			expectHeader(t, "GET empty blob with Range", r, "Content-Range", "bytes */0")
		})
	}
}

func TestConformanceManifestPull(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			const repo = "pull/manifest"
			img := h.pushImage(repo, alg, "v1", 3)

			for _, ref := range []string{"v1", string(img.digest)} {
				path := "/v2/" + repo + "/manifests/" + ref
				r := h.do(http.MethodGet, path, nil, "Accept", mtOCIManifest)
				expectStatus(t, "GET manifest "+ref, r, http.StatusOK)
				if !bytes.Equal(r.body, img.manifest) {
					t.Fatalf("GET manifest %s: bytes differ:\n%s\nwant\n%s", ref, r.body, img.manifest)
				}
				expectHeader(t, "GET manifest "+ref, r, "Content-Type", mtOCIManifest)
				expectHeader(t, "GET manifest "+ref, r, "Docker-Content-Digest", string(img.digest))
				expectHeader(t, "GET manifest "+ref, r, "Content-Length", strconv.Itoa(len(img.manifest)))

				r = h.do(http.MethodHead, path, nil, "Accept", mtOCIManifest)
				expectStatus(t, "HEAD manifest "+ref, r, http.StatusOK)
				if len(r.body) != 0 {
					t.Fatalf("HEAD manifest %s has a body", ref)
				}
				expectHeader(t, "HEAD manifest "+ref, r, "Content-Type", mtOCIManifest)
				expectHeader(t, "HEAD manifest "+ref, r, "Docker-Content-Digest", string(img.digest))
				expectHeader(t, "HEAD manifest "+ref, r, "Content-Length", strconv.Itoa(len(img.manifest)))
			}

			// containerd fetches digest-referenced manifests via /blobs/.
			r := h.do(http.MethodGet, "/v2/"+repo+"/blobs/"+string(img.digest), nil)
			expectStatus(t, "GET manifest as blob", r, http.StatusOK)
			if !bytes.Equal(r.body, img.manifest) {
				t.Fatal("GET manifest as blob: bytes differ")
			}
			expectHeader(t, "GET manifest as blob", r, "Docker-Content-Digest", string(img.digest))
			// containerd caches what it gets here: the manifest's type,
			// not application/octet-stream (containerd #7390).
			expectHeader(t, "GET manifest as blob", r, "Content-Type", mtOCIManifest)
			r = h.do(http.MethodHead, "/v2/"+repo+"/blobs/"+string(img.digest), nil)
			expectStatus(t, "HEAD manifest as blob", r, http.StatusOK)
			expectHeader(t, "HEAD manifest as blob", r, "Content-Type", mtOCIManifest)
			expectHeader(t, "HEAD manifest as blob", r, "Content-Length", strconv.Itoa(len(img.manifest)))

			// Missing manifests: by tag, by digest, in an unknown repository.
			missing := string(alg.FromString("no such manifest"))
			for _, p := range []string{
				"/v2/" + repo + "/manifests/nope",
				"/v2/" + repo + "/manifests/" + missing,
				"/v2/pull/unknown/manifests/v1",
			} {
				expectError(t, "GET "+p, h.do(http.MethodGet, p, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
				r := h.do(http.MethodHead, p, nil)
				expectStatus(t, "HEAD "+p, r, http.StatusNotFound)
				if len(r.body) != 0 {
					t.Fatalf("HEAD %s has a body", p)
				}
			}
		})
	}
}

// TestConformanceManifestPullOtherAlgorithm checks that a manifest
// pushed by a sha256 digest is not found under its sha512 digest: digests
// are names, not a request to rehash.
func TestConformanceManifestPullOtherAlgorithm(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	img := h.pushImage("algs", digest.SHA256, "", 1)
	other := digest.SHA512.FromBytes(img.manifest)
	expectError(t, "GET by the other algorithm's digest", h.do(http.MethodGet, "/v2/algs/manifests/"+string(other), nil),
		http.StatusNotFound, "MANIFEST_UNKNOWN")
}
