package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/registry"
)

// TestManifestPutOCITag checks the OCI-Tag response header: one per tag
// given as a ?tag= parameter, none without, and a sha512 manifest pushed
// with tags is stored and tagged under its sha512 digest only.
func TestManifestPutOCITag(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			const repo = "tags/param"
			img := h.pushImage(repo, alg, "", 40)

			r := h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+string(img.digest)+"?tag=v1&tag=latest", img.manifest,
				"Content-Type", mtOCIManifest)
			expectStatus(t, "PUT by digest with two tags", r, http.StatusCreated)
			expectHeader(t, "PUT by digest with two tags", r, "Docker-Content-Digest", string(img.digest))
			if got := r.header.Values("OCI-Tag"); !slices.Equal(got, []string{"v1", "latest"}) {
				t.Fatalf("PUT by digest with tags v1, latest: OCI-Tag %q, want [v1 latest]", got)
			}
			for _, tag := range []string{"v1", "latest"} {
				h.expectManifest(repo, tag, mtOCIManifest, img.manifest, img.digest)
			}

			r = h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+string(img.digest), img.manifest, "Content-Type", mtOCIManifest)
			expectStatus(t, "PUT by digest without tags", r, http.StatusCreated)
			if got := r.header.Values("OCI-Tag"); len(got) != 0 {
				t.Fatalf("PUT by digest without tag parameters: OCI-Tag %q, want none", got)
			}

			// A tag in the path is no tag parameter; one given as both is
			// reported once, for the parameter.
			r = h.do(http.MethodPut, "/v2/"+repo+"/manifests/path?tag=param", img.manifest, "Content-Type", mtOCIManifest)
			expectStatus(t, "PUT by tag with a tag parameter", r, http.StatusCreated)
			if got := r.header.Values("OCI-Tag"); !slices.Equal(got, []string{"param"}) {
				t.Fatalf("PUT by tag path with tag=param: OCI-Tag %q, want [param]", got)
			}

			// An invalid tag parameter stores nothing.
			r = h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+string(img.digest)+"?tag=ok&tag=-bad", img.manifest, "Content-Type", mtOCIManifest)
			expectError(t, "PUT with an invalid tag parameter", r, http.StatusBadRequest, "TAG_INVALID")
			if tags := h.tagList(repo); slices.Contains(tags, "ok") {
				t.Fatalf("tag list after a refused PUT: %v, must not hold \"ok\"", tags)
			}
		})
	}
}

// missingDigests returns the detail.digest of every error in a response.
func missingDigests(t *testing.T, r response) []string {
	t.Helper()
	var body struct {
		Errors []struct {
			Code   string            `json:"code"`
			Detail map[string]string `json:"detail"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("error body: %v: %s", err, r)
	}
	var out []string
	for _, e := range body.Errors {
		if e.Code != "MANIFEST_BLOB_UNKNOWN" {
			t.Fatalf("error code %q, want MANIFEST_BLOB_UNKNOWN: %s", e.Code, r)
		}
		out = append(out, e.Detail["digest"])
	}
	slices.Sort(out)
	return out
}

// sparseContent is an image manifest with one layer not pushed and an
// index with one child not pushed.
type sparseContent struct {
	config, layer, missingLayer []byte
	image                       []byte
	full                        image
	missingChild                []byte
	index                       []byte
}

func makeSparse(h *harness, repo string, alg digest.Algorithm) sparseContent {
	h.t.Helper()
	s := sparseContent{
		config:       []byte(`{"architecture":"amd64","os":"linux","sparse":true}`),
		layer:        content(700, 50),
		missingLayer: content(900, 51),
	}
	h.pushBlob(repo, s.config, alg)
	h.pushBlob(repo, s.layer, alg)
	s.missingChild = fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":%s,"layers":[%s],"annotations":{"pushed":"later"}}`,
		mtOCIManifest, descriptor(mtOCIConfig, s.config, alg), descriptor(mtOCILayer, s.layer, alg))
	s.image = fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":%s,"layers":[%s,%s]}`, mtOCIManifest,
		descriptor(mtOCIConfig, s.config, alg), descriptor(mtOCILayer, s.layer, alg), descriptor(mtOCILayer, s.missingLayer, alg))
	s.full = h.pushImage(repo, alg, "", 52)
	s.index = fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"manifests":[%s,%s]}`, mtOCIIndex,
		descriptor(mtOCIManifest, s.full.manifest, alg, `"platform":{"architecture":"amd64","os":"linux"}`),
		descriptor(mtOCIManifest, s.missingChild, alg, `"platform":{"architecture":"arm64","os":"linux"}`))
	return s
}

// TestSparseManifests checks allowSparseManifests: off (the default), a
// manifest naming a blob or child manifest the repository lacks is refused
// with one MANIFEST_BLOB_UNKNOWN per missing digest and stores nothing;
// on, it is stored and served, referrers and garbage collection work
// around the absent content, and the content can be pushed later.
func TestSparseManifests(t *testing.T) {
	t.Parallel()
	if registry.DefaultConfig().AllowSparseManifests {
		t.Fatal("allowSparseManifests must be off by default")
	}
	for _, alg := range algorithms {
		t.Run("off/"+string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			const repo = "sparse/off"
			s := makeSparse(h, repo, alg)
			put := func(what, mediaType string, body []byte) response {
				t.Helper()
				r := h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+string(alg.FromBytes(body))+"?tag=sparse", body, "Content-Type", mediaType)
				expectError(t, what, r, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
				return r
			}
			r := put("image with a missing layer", mtOCIManifest, s.image)
			if got, want := missingDigests(t, r), []string{string(alg.FromBytes(s.missingLayer))}; !slices.Equal(got, want) {
				t.Fatalf("missing digests %v, want %v", got, want)
			}
			r = put("index with a missing child", mtOCIIndex, s.index)
			if got, want := missingDigests(t, r), []string{string(alg.FromBytes(s.missingChild))}; !slices.Equal(got, want) {
				t.Fatalf("missing digests %v, want %v", got, want)
			}
			// Two missing blobs: one error each.
			two := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":%s,"layers":[%s]}`, mtOCIManifest,
				descriptor(mtOCIConfig, []byte(`{"absent":1}`), alg), descriptor(mtOCILayer, s.missingLayer, alg))
			r = put("image with two missing blobs", mtOCIManifest, two)
			want := []string{string(alg.FromBytes([]byte(`{"absent":1}`))), string(alg.FromBytes(s.missingLayer))}
			slices.Sort(want)
			if got := missingDigests(t, r); !slices.Equal(got, want) {
				t.Fatalf("missing digests %v, want %v", got, want)
			}
			if tags := h.tagList(repo); slices.Contains(tags, "sparse") {
				t.Fatalf("refused pushes left tag \"sparse\": %v", tags)
			}
			for _, body := range [][]byte{s.image, s.index, two} {
				r := h.do(http.MethodGet, "/v2/"+repo+"/manifests/"+string(alg.FromBytes(body)), nil)
				expectError(t, "GET refused manifest", r, http.StatusNotFound, "MANIFEST_UNKNOWN")
			}

			// Once the content is there, the same manifests go in.
			h.pushBlob(repo, s.missingLayer, alg)
			h.pushManifest(repo, string(alg.FromBytes(s.image)), mtOCIManifest, s.image)
			h.pushManifest(repo, string(alg.FromBytes(s.missingChild)), mtOCIManifest, s.missingChild)
			h.pushManifest(repo, string(alg.FromBytes(s.index)), mtOCIIndex, s.index)
		})

		t.Run("on/"+string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarnessWith(t, func(c *registry.Config) {
				c.AllowSparseManifests = true
				c.GC.Grace = 0
				c.GC.DeleteUntagged = true
			})
			const repo = "sparse/on"
			s := makeSparse(h, repo, alg)
			imgDigest, idxDigest := alg.FromBytes(s.image), alg.FromBytes(s.index)
			r := h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+string(imgDigest)+"?tag=sparse-image", s.image, "Content-Type", mtOCIManifest)
			expectStatus(t, "sparse image", r, http.StatusCreated)
			r = h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+string(idxDigest)+"?tag=sparse-index", s.index, "Content-Type", mtOCIIndex)
			expectStatus(t, "sparse index", r, http.StatusCreated)
			h.expectManifest(repo, "sparse-image", mtOCIManifest, s.image, imgDigest)
			h.expectManifest(repo, "sparse-index", mtOCIIndex, s.index, idxDigest)

			// A referrer of the sparse index; the absent child has none.
			cfg := h.pushEmptyConfig(repo, alg)
			sig := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"artifactType":"application/vnd.example.sig","config":%s,"layers":[],"subject":%s}`,
				mtOCIManifest, cfg, descriptor(mtOCIIndex, s.index, alg))
			h.pushManifest(repo, string(alg.FromBytes(sig)), mtOCIManifest, sig)
			if got := referrerDigests(t, h, repo, idxDigest); !slices.Equal(got, []string{string(alg.FromBytes(sig))}) {
				t.Fatalf("referrers of the sparse index: %v", got)
			}
			if got := referrerDigests(t, h, repo, alg.FromBytes(s.missingChild)); len(got) != 0 {
				t.Fatalf("referrers of the absent child: %v, want none", got)
			}

			// Collection (untagged manifests too) keeps what the sparse
			// manifests name and still removes what nothing names.
			junk := h.pushBlob(repo, content(300, 53), alg)
			rep, err := h.reg.CollectGarbage(context.Background(), false)
			if err != nil {
				t.Fatalf("garbage collection with sparse manifests: %v", err)
			}
			if !slices.Contains(rep.Blobs, junk) || len(rep.Manifests) != 0 {
				t.Fatalf("collection removed blobs %v and manifests %v; want exactly the junk blob %s and no manifest", rep.Blobs, rep.Manifests, junk)
			}
			for _, b := range [][]byte{s.config, s.layer, s.full.config, s.full.layers[0]} {
				expectStatus(t, "blob a sparse manifest names, after GC", h.do(http.MethodHead, "/v2/"+repo+"/blobs/"+string(alg.FromBytes(b)), nil), http.StatusOK)
			}
			h.expectManifest(repo, "sparse-image", mtOCIManifest, s.image, imgDigest)
			h.expectManifest(repo, "sparse-index", mtOCIIndex, s.index, idxDigest)
			h.expectManifest(repo, string(s.full.digest), mtOCIManifest, s.full.manifest, s.full.digest)

			// The absent content can come later (a mirror filling in).
			h.pushBlob(repo, s.missingLayer, alg)
			h.pushManifest(repo, string(alg.FromBytes(s.missingChild)), mtOCIManifest, s.missingChild)
			if _, err := h.reg.CollectGarbage(context.Background(), false); err != nil {
				t.Fatal(err)
			}
			expectStatus(t, "late layer after GC", h.do(http.MethodGet, "/v2/"+repo+"/blobs/"+string(alg.FromBytes(s.missingLayer)), nil), http.StatusOK)
			h.expectManifest(repo, string(alg.FromBytes(s.missingChild)), mtOCIManifest, s.missingChild, alg.FromBytes(s.missingChild))

			// Deleting the sparse index works as for any manifest.
			expectStatus(t, "DELETE sparse index", h.do(http.MethodDelete, "/v2/"+repo+"/manifests/"+string(idxDigest), nil), http.StatusAccepted)
			expectError(t, "GET deleted sparse index", h.do(http.MethodGet, "/v2/"+repo+"/manifests/sparse-index", nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
			if _, err := h.reg.CollectGarbage(context.Background(), false); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// referrerDigests lists the digests the referrers API returns for subject.
func referrerDigests(t *testing.T, h *harness, repo string, subject digest.Digest) []string {
	t.Helper()
	r := h.do(http.MethodGet, "/v2/"+repo+"/referrers/"+string(subject), nil)
	expectStatus(t, "referrers", r, http.StatusOK)
	var idx struct {
		Manifests []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(r.body, &idx); err != nil {
		t.Fatalf("referrers: %v: %s", err, r)
	}
	var out []string
	for _, m := range idx.Manifests {
		out = append(out, m.Digest)
	}
	return out
}
