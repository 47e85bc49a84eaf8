package registry_test

// Content management: deleting manifests, tags and blobs.

import (
	"net/http"
	"slices"
	"testing"
)

func TestConformanceDeleteManifest(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			const repo = "mgmt/manifest"
			img := h.pushImage(repo, alg, "one", 60)
			// A second tag on the same manifest and one on another.
			r := h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+string(img.digest)+"?tag=two", img.manifest, "Content-Type", mtOCIManifest)
			expectStatus(t, "second tag", r, http.StatusCreated)
			keep := h.pushImage(repo, alg, "keep", 61)

			r = h.do(http.MethodDelete, "/v2/"+repo+"/manifests/"+string(img.digest), nil)
			expectStatus(t, "DELETE manifest by digest", r, http.StatusAccepted)

			for _, ref := range []string{string(img.digest), "one", "two"} {
				expectError(t, "GET deleted "+ref, h.do(http.MethodGet, "/v2/"+repo+"/manifests/"+ref, nil),
					http.StatusNotFound, "MANIFEST_UNKNOWN")
				expectStatus(t, "HEAD deleted "+ref, h.do(http.MethodHead, "/v2/"+repo+"/manifests/"+ref, nil), http.StatusNotFound)
			}
			// Nor through the blob endpoint.
			expectError(t, "GET deleted manifest as blob", h.do(http.MethodGet, "/v2/"+repo+"/blobs/"+string(img.digest), nil),
				http.StatusNotFound, "BLOB_UNKNOWN")
			tags := h.tagList(repo)
			if slices.Contains(tags, "one") || slices.Contains(tags, "two") || !slices.Contains(tags, "keep") {
				t.Fatalf("tags after delete: %v, want [keep]", tags)
			}
			h.expectManifest(repo, "keep", mtOCIManifest, keep.manifest, keep.digest)

			// Again: unknown now.
			expectError(t, "DELETE deleted manifest", h.do(http.MethodDelete, "/v2/"+repo+"/manifests/"+string(img.digest), nil),
				http.StatusNotFound, "MANIFEST_UNKNOWN")
			expectError(t, "DELETE unknown manifest", h.do(http.MethodDelete, "/v2/"+repo+"/manifests/"+string(alg.FromString("x")), nil),
				http.StatusNotFound, "MANIFEST_UNKNOWN")
			expectError(t, "DELETE in unknown repo", h.do(http.MethodDelete, "/v2/mgmt/unknown/manifests/"+string(img.digest), nil),
				http.StatusNotFound, "MANIFEST_UNKNOWN")

			// The manifest can be pushed again afterwards.
			r = h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+string(img.digest)+"?tag=one", img.manifest, "Content-Type", mtOCIManifest)
			expectStatus(t, "re-push deleted manifest", r, http.StatusCreated)
			h.expectManifest(repo, "one", mtOCIManifest, img.manifest, img.digest)
		})
	}
}

func TestConformanceDeleteTag(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			const repo = "mgmt/tag"
			img := h.pushImage(repo, alg, "gone", 62)
			r := h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+string(img.digest)+"?tag=stays", img.manifest, "Content-Type", mtOCIManifest)
			expectStatus(t, "second tag", r, http.StatusCreated)

			r = h.do(http.MethodDelete, "/v2/"+repo+"/manifests/gone", nil)
			expectStatus(t, "DELETE tag", r, http.StatusAccepted)
			expectError(t, "GET deleted tag", h.do(http.MethodGet, "/v2/"+repo+"/manifests/gone", nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
			h.expectManifest(repo, string(img.digest), mtOCIManifest, img.manifest, img.digest)
			h.expectManifest(repo, "stays", mtOCIManifest, img.manifest, img.digest)
			if tags := h.tagList(repo); len(tags) != 1 || tags[0] != "stays" {
				t.Fatalf("tags after tag delete: %v, want [stays]", tags)
			}
			expectError(t, "DELETE unknown tag", h.do(http.MethodDelete, "/v2/"+repo+"/manifests/gone", nil),
				http.StatusNotFound, "MANIFEST_UNKNOWN")
			expectError(t, "DELETE invalid tag", h.do(http.MethodDelete, "/v2/"+repo+"/manifests/-x", nil),
				http.StatusBadRequest, "TAG_INVALID")
		})
	}
}

func TestConformanceDeleteBlob(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			data := content(1200, 63)
			d := h.pushBlob("mgmt/blob", data, alg)
			h.pushBlob("mgmt/blob2", data, alg)

			r := h.do(http.MethodDelete, "/v2/mgmt/blob/blobs/"+string(d), nil)
			expectStatus(t, "DELETE blob", r, http.StatusAccepted)
			expectStatus(t, "HEAD deleted blob", h.do(http.MethodHead, "/v2/mgmt/blob/blobs/"+string(d), nil), http.StatusNotFound)
			expectError(t, "GET deleted blob", h.do(http.MethodGet, "/v2/mgmt/blob/blobs/"+string(d), nil), http.StatusNotFound, "BLOB_UNKNOWN")
			// The other repository's link is untouched.
			h.expectBlob("mgmt/blob2", d, data)

			expectError(t, "DELETE deleted blob", h.do(http.MethodDelete, "/v2/mgmt/blob/blobs/"+string(d), nil),
				http.StatusNotFound, "BLOB_UNKNOWN")
			expectError(t, "DELETE unknown blob", h.do(http.MethodDelete, "/v2/mgmt/blob/blobs/"+string(alg.FromString("x")), nil),
				http.StatusNotFound, "BLOB_UNKNOWN")
			expectError(t, "DELETE blob in unknown repo", h.do(http.MethodDelete, "/v2/mgmt/unknown/blobs/"+string(d), nil),
				http.StatusNotFound, "BLOB_UNKNOWN")
			expectError(t, "DELETE malformed digest", h.do(http.MethodDelete, "/v2/mgmt/blob/blobs/sha256:abc", nil),
				http.StatusBadRequest, "DIGEST_INVALID")

			// It can be pushed again.
			h.pushBlob("mgmt/blob", data, alg)
			h.expectBlob("mgmt/blob", d, data)
		})
	}
}
