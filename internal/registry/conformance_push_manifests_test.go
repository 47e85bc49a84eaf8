package registry_test

// Push: manifests of every shape clients send, and the ones to refuse.

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
)

// expectManifest checks that ref in repo serves exactly body with mediaType.
func (h *harness) expectManifest(repo, ref, mediaType string, body []byte, d digest.Digest) {
	h.t.Helper()
	r := h.do(http.MethodGet, "/v2/"+repo+"/manifests/"+ref, nil, "Accept", mediaType)
	expectStatus(h.t, "GET manifest "+ref, r, http.StatusOK)
	if !bytes.Equal(r.body, body) {
		h.t.Fatalf("GET manifest %s: bytes differ:\n%s\nwant\n%s", ref, r.body, body)
	}
	expectHeader(h.t, "GET manifest "+ref, r, "Content-Type", mediaType)
	expectHeader(h.t, "GET manifest "+ref, r, "Docker-Content-Digest", string(d))
}

// pushEmptyConfig pushes the empty JSON blob artifacts use as config.
func (h *harness) pushEmptyConfig(repo string, alg digest.Algorithm) string {
	h.t.Helper()
	h.pushBlob(repo, []byte("{}"), alg)
	return descriptor(mtOCIEmpty, []byte("{}"), alg)
}

func TestConformanceManifestPush(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			const repo = "push/manifests"
			img := h.pushImage(repo, alg, "", 20)
			img2 := h.pushImage(repo, alg, "", 21)

			// put pushes body by digest (in alg) with tag, checks the
			// answer, and reads it back by tag and by digest.
			put := func(what, tag, mediaType string, body []byte) response {
				t.Helper()
				d := alg.FromBytes(body)
				r := h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+string(d)+"?tag="+tag, body, "Content-Type", mediaType)
				expectStatus(t, what, r, http.StatusCreated)
				expectHeader(t, what, r, "Docker-Content-Digest", string(d))
				location(t, what, r)
				h.expectManifest(repo, tag, mediaType, body, d)
				h.expectManifest(repo, string(d), mediaType, body, d)
				return r
			}

			t.Run("oci-index", func(t *testing.T) {
				body := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"manifests":[%s,%s]}`, mtOCIIndex,
					descriptor(mtOCIManifest, img.manifest, alg, `"platform":{"architecture":"amd64","os":"linux"}`),
					descriptor(mtOCIManifest, img2.manifest, alg, `"platform":{"architecture":"unknown","os":"unknown"}`))
				put("OCI index", "index", mtOCIIndex, body)
				// Nested: an index of that index and an image.
				nested := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"manifests":[%s,%s]}`, mtOCIIndex,
					descriptor(mtOCIIndex, body, alg), descriptor(mtOCIManifest, img.manifest, alg))
				put("nested index", "nested", mtOCIIndex, nested)
				// Sparse indexes (children not pushed): TestSparseManifests.
			})

			t.Run("empty-index", func(t *testing.T) {
				put("empty index", "empty", mtOCIIndex, fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"manifests":[]}`, mtOCIIndex))
			})

			t.Run("docker-schema2", func(t *testing.T) {
				cfg := []byte(`{"architecture":"arm64","os":"linux","docker":true}`)
				layer := content(800, 22)
				h.pushBlob(repo, cfg, alg)
				h.pushBlob(repo, layer, alg)
				body := fmt.Appendf(nil, "{\n   \"schemaVersion\": 2,\n   \"mediaType\": %q,\n   \"config\": %s,\n   \"layers\": [%s]\n}",
					mtDockerManifest, descriptor(mtDockerConfig, cfg, alg), descriptor(mtDockerLayer, layer, alg))
				put("Docker schema2", "docker", mtDockerManifest, body)
				list := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"manifests":[%s]}`, mtDockerList,
					descriptor(mtDockerManifest, body, alg, `"platform":{"architecture":"arm64","os":"linux"}`))
				put("Docker manifest list", "dockerlist", mtDockerList, list)
			})

			t.Run("artifact", func(t *testing.T) {
				cfg := h.pushEmptyConfig(repo, alg)
				blob := []byte(`{"sbom":true}`)
				h.pushBlob(repo, blob, alg)
				body := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"artifactType":"application/vnd.example.sbom.v1","config":%s,"layers":[%s]}`,
					mtOCIManifest, cfg, descriptor("application/vnd.example.sbom.v1+json", blob, alg))
				put("artifact", "artifact", mtOCIManifest, body)
				// An artifact without layers.
				bare := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"artifactType":"application/vnd.example.bare","config":%s,"layers":[]}`,
					mtOCIManifest, cfg)
				put("artifact without layers", "bare", mtOCIManifest, bare)
				// An artifact index.
				aidx := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"artifactType":"application/vnd.example.set","manifests":[%s]}`,
					mtOCIIndex, descriptor(mtOCIManifest, body, alg))
				put("artifact index", "artifactindex", mtOCIIndex, aidx)
			})

			t.Run("subject", func(t *testing.T) {
				cfg := h.pushEmptyConfig(repo, alg)
				body := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"artifactType":"application/vnd.example.sig","config":%s,"layers":[],"subject":%s}`,
					mtOCIManifest, cfg, descriptor(mtOCIManifest, img.manifest, alg))
				r := put("manifest with subject", "signed", mtOCIManifest, body)
				expectHeader(t, "manifest with subject", r, "OCI-Subject", string(img.digest))

				// The subject need not exist.
				ghost := []byte(`{"not":"pushed"}`)
				body = fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"artifactType":"application/vnd.example.sig","config":%s,"layers":[],"subject":%s}`,
					mtOCIManifest, cfg, descriptor(mtOCIManifest, ghost, alg))
				r = put("manifest with missing subject", "orphan", mtOCIManifest, body)
				expectHeader(t, "manifest with missing subject", r, "OCI-Subject", string(alg.FromBytes(ghost)))

				// An index with a subject.
				idx := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"manifests":[],"subject":%s}`,
					mtOCIIndex, descriptor(mtOCIManifest, img.manifest, alg))
				r = put("index with subject", "signedindex", mtOCIIndex, idx)
				expectHeader(t, "index with subject", r, "OCI-Subject", string(img.digest))
			})

			t.Run("inline-data-and-foreign-layers", func(t *testing.T) {
				inline := []byte("inline layer, never pushed as a blob")
				cfg := []byte("{}")
				foreign := content(900, 23)
				body := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":%s,"layers":[%s,%s]}`, mtOCIManifest,
					descriptor(mtOCIEmpty, cfg, alg, dataMember(cfg)),
					descriptor(mtOCILayer, inline, alg, dataMember(inline)),
					descriptor("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", foreign, alg,
						`"urls":["https://example.com/layer.tar.gz"]`))
				put("inline data and non-distributable layer", "inline", mtOCIManifest, body)
				// A descriptor whose data does not match its digest is refused.
				bad := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":%s,"layers":[]}`, mtOCIManifest,
					descriptor(mtOCIEmpty, cfg, alg, dataMember([]byte("{ }"))))
				expectError(t, "data not matching the digest",
					h.do(http.MethodPut, "/v2/"+repo+"/manifests/baddata", bad, "Content-Type", mtOCIManifest),
					http.StatusBadRequest, "MANIFEST_INVALID")
			})

			t.Run("custom-fields-kept-verbatim", func(t *testing.T) {
				body := fmt.Appendf(nil, "{\n\t\"schemaVersion\" : 2,\n\t\"mediaType\":%q,\n\t\"x-berth-custom\": {\"z\":[1, 2.50, \"\\u00e9\"], \"a\": null},\n\t\"config\":%s,\n\t\"layers\":[%s],\n\t\"annotations\":{\"org.example.b\":\"2\",\"org.example.a\":\"1\"}\n}\n",
					mtOCIManifest, descriptor(mtOCIConfig, img.config, alg, `"x-desc-custom":true`), descriptor(mtOCILayer, img.layers[0], alg))
				r := put("custom fields", "custom", mtOCIManifest, body)
				if v := r.header.Get("OCI-Subject"); v != "" {
					t.Fatalf("manifest without subject: OCI-Subject %q", v)
				}
			})

			t.Run("retag-with-other-media-type", func(t *testing.T) {
				h.pushManifest(repo, "moving", mtOCIManifest, img.manifest)
				h.expectManifest(repo, "moving", mtOCIManifest, img.manifest, digest.FromBytes(img.manifest))
				list := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"manifests":[%s]}`, mtDockerList,
					descriptor(mtOCIManifest, img.manifest, alg, `"platform":{"architecture":"amd64","os":"linux"}`))
				h.pushManifest(repo, "moving", mtDockerList, list)
				h.expectManifest(repo, "moving", mtDockerList, list, digest.FromBytes(list))
			})

			t.Run("many-tags", func(t *testing.T) {
				d := alg.FromBytes(img2.manifest)
				r := h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+string(d)+"?tag=a&tag=b", img2.manifest, "Content-Type", mtOCIManifest)
				expectStatus(t, "PUT ?tag=a&tag=b", r, http.StatusCreated)
				h.expectManifest(repo, "a", mtOCIManifest, img2.manifest, d)
				h.expectManifest(repo, "b", mtOCIManifest, img2.manifest, d)
				tags := h.tagList(repo)
				if !slices.Contains(tags, "a") || !slices.Contains(tags, "b") {
					t.Fatalf("tag list %v lacks a or b", tags)
				}
				r = h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+string(d)+"?tag=ok&tag=-bad", img2.manifest, "Content-Type", mtOCIManifest)
				expectError(t, "PUT with an invalid ?tag", r, http.StatusBadRequest, "TAG_INVALID")
				expectStatus(t, "tag ok not created", h.do(http.MethodHead, "/v2/"+repo+"/manifests/ok", nil), http.StatusNotFound)
			})

			t.Run("digest-mismatch", func(t *testing.T) {
				wrong := alg.FromString("other bytes")
				r := h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+string(wrong), img.manifest, "Content-Type", mtOCIManifest)
				expectError(t, "PUT by a digest the body does not have", r, http.StatusBadRequest, "DIGEST_INVALID")
				expectStatus(t, "nothing stored", h.do(http.MethodHead, "/v2/"+repo+"/manifests/"+string(wrong), nil), http.StatusNotFound)
			})

			t.Run("missing-blob", func(t *testing.T) {
				layer := content(300, 24) // never pushed
				body := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":%s,"layers":[%s]}`, mtOCIManifest,
					descriptor(mtOCIConfig, img.config, alg), descriptor(mtOCILayer, layer, alg))
				r := h.do(http.MethodPut, "/v2/"+repo+"/manifests/missing", body, "Content-Type", mtOCIManifest)
				expectError(t, "manifest with a missing layer", r, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
				// A blob of another repository does not count.
				other := h.do(http.MethodPut, "/v2/push/elsewhere/manifests/x", img.manifest, "Content-Type", mtOCIManifest)
				expectError(t, "manifest whose blobs are in another repo", other, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
			})

			t.Run("invalid", func(t *testing.T) {
				for _, tc := range []struct{ what, ct, body string }{
					{"invalid JSON", mtOCIManifest, `{"schemaVersion":2,`},
					{"not an object", mtOCIManifest, `[1,2]`},
					{"empty body", mtOCIManifest, ``},
					{"schemaVersion 1", mtOCIManifest, `{"schemaVersion":1,"mediaType":"` + mtOCIManifest + `","config":{},"layers":[]}`},
					{"schema1", "application/vnd.docker.distribution.manifest.v1+prettyjws",
						`{"schemaVersion":1,"name":"x","tag":"y","architecture":"amd64","fsLayers":[],"history":[],"signatures":[]}`},
					{"schema1 unsigned", "application/vnd.docker.distribution.manifest.v1+json",
						`{"schemaVersion":1,"name":"x","tag":"y","architecture":"amd64","fsLayers":[],"history":[]}`},
					{"media type mismatch", mtDockerManifest, string(img.manifest)},
					{"bad layer digest", mtOCIManifest, `{"schemaVersion":2,"mediaType":"` + mtOCIManifest + `","config":` +
						descriptor(mtOCIConfig, img.config, alg) + `,"layers":[{"mediaType":"x","digest":"sha256:nothex","size":1}]}`},
					{"image and index at once", mtOCIManifest, `{"schemaVersion":2,"mediaType":"` + mtOCIManifest + `","config":` +
						descriptor(mtOCIConfig, img.config, alg) + `,"layers":[],"manifests":[]}`},
				} {
					r := h.do(http.MethodPut, "/v2/"+repo+"/manifests/invalid", []byte(tc.body), "Content-Type", tc.ct)
					expectError(t, tc.what, r, http.StatusBadRequest, "MANIFEST_INVALID")
				}
				expectStatus(t, "nothing tagged", h.do(http.MethodHead, "/v2/"+repo+"/manifests/invalid", nil), http.StatusNotFound)

				// Over the 4 MiB manifest limit: 413 with SIZE_INVALID.
				huge := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"manifests":[],"annotations":{"pad":%q}}`,
					mtOCIIndex, bytes.Repeat([]byte("x"), 4<<20))
				expectError(t, "manifest over 4 MiB", h.do(http.MethodPut, "/v2/"+repo+"/manifests/huge", huge, "Content-Type", mtOCIIndex),
					http.StatusRequestEntityTooLarge, "SIZE_INVALID")
			})
		})
	}
}

// TestConformanceManifestPushByTagDigest checks that a manifest pushed by
// tag gets the canonical (sha256) digest and is served under it.
func TestConformanceManifestPushByTagDigest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	img := h.pushImage("bytag", digest.SHA512, "", 30)
	r := h.pushManifest("bytag", "latest", mtOCIManifest, img.manifest)
	d := digest.FromBytes(img.manifest)
	expectHeader(t, "PUT by tag", r, "Location", "/v2/bytag/manifests/"+string(d))
	h.expectManifest("bytag", string(d), mtOCIManifest, img.manifest, d)
	h.expectManifest("bytag", "latest", mtOCIManifest, img.manifest, d)
}
