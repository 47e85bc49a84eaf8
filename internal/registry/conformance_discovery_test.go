package registry_test

// Content discovery: tag lists, the catalog and the referrers API.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/opencontainers/go-digest"
)

var nextLinkRE = regexp.MustCompile(`^<([^>]+)>;\s*rel="next"$`)

// paginate follows Link rel="next" from first until there is none and
// returns every page's list (read from member) in order.
func (h *harness) paginate(first, member string, pageSize int) [][]string {
	h.t.Helper()
	var pages [][]string
	target := first
	for i := 0; target != ""; i++ {
		if i > 100 {
			h.t.Fatalf("pagination from %s does not end", first)
		}
		r := h.do(http.MethodGet, target, nil)
		expectStatus(h.t, "GET "+target, r, http.StatusOK)
		var body map[string]json.RawMessage
		if err := json.Unmarshal(r.body, &body); err != nil {
			h.t.Fatalf("GET %s: %v: %s", target, err, r)
		}
		var list []string
		if err := json.Unmarshal(body[member], &list); err != nil || list == nil {
			h.t.Fatalf("GET %s: %s is not a list: %s", target, member, r)
		}
		if len(list) > pageSize {
			h.t.Fatalf("GET %s: %d entries, asked for at most %d", target, len(list), pageSize)
		}
		pages = append(pages, list)
		target = ""
		if link := r.header.Get("Link"); link != "" {
			m := nextLinkRE.FindStringSubmatch(link)
			if m == nil {
				h.t.Fatalf("GET %s: Link %q is not <url>; rel=\"next\"", first, link)
			}
			target = m[1]
		}
	}
	return pages
}

func flatten(pages [][]string) []string {
	var all []string
	for _, p := range pages {
		all = append(all, p...)
	}
	return all
}

func TestConformanceTags(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const repo = "disc/tags"
	img := h.pushImage(repo, digest.SHA256, "", 40)
	tags := []string{"latest", "Alpha", "beta", "1.0", "10", "2", "ZED", "_under", "a-b", "a.b", "A", "v1.2.3-rc.1", "a_b"}
	for _, tag := range tags {
		h.pushManifest(repo, tag, mtOCIManifest, img.manifest)
	}
	want := slices.Clone(tags)
	sort.Strings(want) // ASCIIbetical: digits, upper case, '_', lower case

	if got := h.tagList(repo); !slices.Equal(got, want) {
		t.Fatalf("tag list %v, want %v", got, want)
	}

	for _, n := range []int{1, 3, 5, len(want), len(want) + 4} {
		pages := h.paginate(fmt.Sprintf("/v2/%s/tags/list?n=%d", repo, n), "tags", n)
		if got := flatten(pages); !slices.Equal(got, want) {
			t.Fatalf("n=%d: paginated tags %v, want %v", n, got, want)
		}
		if wantPages := (len(want) + n - 1) / n; len(pages) < wantPages || len(pages) > wantPages+1 {
			t.Fatalf("n=%d: %d pages for %d tags", n, len(pages), len(want))
		}
	}

	// last alone: everything after it.
	r := h.do(http.MethodGet, "/v2/"+repo+"/tags/list?last="+url.QueryEscape(want[3]), nil)
	expectStatus(t, "tags ?last=", r, http.StatusOK)
	var body struct{ Tags []string }
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(body.Tags, want[4:]) {
		t.Fatalf("tags after %q: %v, want %v", want[3], body.Tags, want[4:])
	}
	// last that is not a tag: everything sorting after it.
	r = h.do(http.MethodGet, "/v2/"+repo+"/tags/list?n=2&last=b", nil)
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(body.Tags, []string{"beta", "latest"}) {
		t.Fatalf("tags after \"b\": %v, want [beta latest]", body.Tags)
	}

	// n=0: an empty list, no next link.
	r = h.do(http.MethodGet, "/v2/"+repo+"/tags/list?n=0", nil)
	expectStatus(t, "tags ?n=0", r, http.StatusOK)
	if err := json.Unmarshal(r.body, &body); err != nil || body.Tags == nil || len(body.Tags) != 0 {
		t.Fatalf("tags ?n=0: %s, want an empty list", r)
	}
	if l := r.header.Get("Link"); l != "" {
		t.Fatalf("tags ?n=0: Link %q", l)
	}

	expectError(t, "tags ?n=-1", h.do(http.MethodGet, "/v2/"+repo+"/tags/list?n=-1", nil), http.StatusBadRequest, "PAGINATION_NUMBER_INVALID")
	expectError(t, "tags ?n=x", h.do(http.MethodGet, "/v2/"+repo+"/tags/list?n=x", nil), http.StatusBadRequest, "PAGINATION_NUMBER_INVALID")

	// Unknown repository.
	for _, q := range []string{"", "?n=0", "?n=2"} {
		expectError(t, "tags of unknown repo"+q, h.do(http.MethodGet, "/v2/disc/unknown/tags/list"+q, nil),
			http.StatusNotFound, "NAME_UNKNOWN")
	}
	// A repository with content but no tags lists none.
	h.pushBlob("disc/untagged", []byte("x"), digest.SHA256)
	if got := h.tagList("disc/untagged"); got == nil || len(got) != 0 {
		t.Fatalf("tags of an untagged repo: %v, want []", got)
	}
}

func TestConformanceCatalog(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	repos := []string{"zeta", "alpha/one", "alpha", "alpha/two", "b-c", "b.c", "b_c", "b0", "a/b/c/d"}
	for i, repo := range repos {
		h.pushBlob(repo, content(10, byte(i)), digest.SHA256)
	}
	want := slices.Clone(repos)
	sort.Strings(want)

	r := h.do(http.MethodGet, "/v2/_catalog", nil)
	expectStatus(t, "catalog", r, http.StatusOK)
	var body struct {
		Repositories []string `json:"repositories"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(body.Repositories, want) {
		t.Fatalf("catalog %v, want %v", body.Repositories, want)
	}
	for _, n := range []int{1, 2, 4, len(want)} {
		pages := h.paginate("/v2/_catalog?n="+strconv.Itoa(n), "repositories", n)
		if got := flatten(pages); !slices.Equal(got, want) {
			t.Fatalf("catalog n=%d: %v, want %v", n, got, want)
		}
	}
	r = h.do(http.MethodGet, "/v2/_catalog?n=0", nil)
	expectStatus(t, "catalog ?n=0", r, http.StatusOK)
	if err := json.Unmarshal(r.body, &body); err != nil || body.Repositories == nil || len(body.Repositories) != 0 {
		t.Fatalf("catalog ?n=0: %s", r)
	}
	expectError(t, "catalog ?n=-5", h.do(http.MethodGet, "/v2/_catalog?n=-5", nil), http.StatusBadRequest, "PAGINATION_NUMBER_INVALID")
}

// referrersIndex is the body of a referrers answer.
type referrersIndex struct {
	SchemaVersion int    `json:"schemaVersion"`
	MediaType     string `json:"mediaType"`
	Manifests     []struct {
		MediaType    string            `json:"mediaType"`
		Digest       digest.Digest     `json:"digest"`
		Size         int64             `json:"size"`
		ArtifactType string            `json:"artifactType"`
		Annotations  map[string]string `json:"annotations"`
	} `json:"manifests"`
}

func (h *harness) referrers(repo string, subject digest.Digest, query string) (referrersIndex, response) {
	h.t.Helper()
	r := h.do(http.MethodGet, "/v2/"+repo+"/referrers/"+string(subject)+query, nil)
	expectStatus(h.t, "referrers "+query, r, http.StatusOK)
	expectHeader(h.t, "referrers", r, "Content-Type", mtOCIIndex)
	var idx referrersIndex
	if err := json.Unmarshal(r.body, &idx); err != nil {
		h.t.Fatalf("referrers: %v: %s", err, r)
	}
	if idx.SchemaVersion != 2 || idx.MediaType != mtOCIIndex || idx.Manifests == nil {
		h.t.Fatalf("referrers: not an image index with a manifests list: %s", r.body)
	}
	return idx, r
}

func TestConformanceReferrers(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			const repo = "disc/referrers"
			subject := h.pushImage(repo, alg, "v1", 50)

			// Unknown digest, digest without referrers, unknown repository:
			// an empty index, never 404.
			for _, tc := range []struct {
				repo string
				d    digest.Digest
			}{{repo, alg.FromString("unknown")}, {repo, subject.digest}, {"disc/nothing", subject.digest}} {
				idx, _ := h.referrers(tc.repo, tc.d, "")
				if len(idx.Manifests) != 0 {
					t.Fatalf("referrers of %s in %s: %d, want none", tc.d, tc.repo, len(idx.Manifests))
				}
			}

			cfg := h.pushEmptyConfig(repo, alg)
			sig := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"artifactType":"application/vnd.example.sig","config":%s,"layers":[],"subject":%s,"annotations":{"org.example.kind":"signature"}}`,
				mtOCIManifest, cfg, descriptor(mtOCIManifest, subject.manifest, alg))
			sbomLayer := []byte(`{"packages":[]}`)
			h.pushBlob(repo, sbomLayer, alg)
			// No artifactType: the config's media type is reported instead.
			sbomCfg := []byte(`{"format":"spdx"}`)
			h.pushBlob(repo, sbomCfg, alg)
			sbom := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":%s,"layers":[%s],"subject":%s,"annotations":{"org.example.kind":"sbom"}}`,
				mtOCIManifest, descriptor("application/vnd.example.sbom.config", sbomCfg, alg),
				descriptor("application/spdx+json", sbomLayer, alg), descriptor(mtOCIManifest, subject.manifest, alg))
			// An index referrer with an artifactType.
			set := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"artifactType":"application/vnd.example.set","manifests":[],"subject":%s}`,
				mtOCIIndex, descriptor(mtOCIManifest, subject.manifest, alg))

			want := map[digest.Digest]struct {
				mediaType, artifactType, kind string
				size                          int
			}{}
			for _, m := range []struct {
				body                          []byte
				mediaType, artifactType, kind string
			}{
				{sig, mtOCIManifest, "application/vnd.example.sig", "signature"},
				{sbom, mtOCIManifest, "application/vnd.example.sbom.config", "sbom"},
				{set, mtOCIIndex, "application/vnd.example.set", ""},
			} {
				d := alg.FromBytes(m.body)
				r := h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+string(d), m.body, "Content-Type", m.mediaType)
				expectStatus(t, "PUT referrer", r, http.StatusCreated)
				expectHeader(t, "PUT referrer", r, "OCI-Subject", string(subject.digest))
				want[d] = struct {
					mediaType, artifactType, kind string
					size                          int
				}{m.mediaType, m.artifactType, m.kind, len(m.body)}
			}
			// A referrer in another repository is not listed here.
			h.pushImage("disc/other", alg, "", 50)
			otherCfg := h.pushEmptyConfig("disc/other", alg)
			h.pushManifest("disc/other", "sig", mtOCIManifest, fmt.Appendf(nil,
				`{"schemaVersion":2,"mediaType":%q,"artifactType":"application/vnd.example.sig","config":%s,"layers":[],"subject":%s}`,
				mtOCIManifest, otherCfg, descriptor(mtOCIManifest, subject.manifest, alg)))

			idx, r := h.referrers(repo, subject.digest, "")
			if r.header.Get("OCI-Filters-Applied") != "" {
				t.Fatalf("unfiltered referrers: OCI-Filters-Applied %q", r.header.Get("OCI-Filters-Applied"))
			}
			if len(idx.Manifests) != len(want) {
				t.Fatalf("referrers: %d, want %d: %s", len(idx.Manifests), len(want), r.body)
			}
			for _, m := range idx.Manifests {
				w, ok := want[m.Digest]
				if !ok {
					t.Fatalf("referrers lists unknown %s", m.Digest)
				}
				if m.MediaType != w.mediaType || m.ArtifactType != w.artifactType || m.Size != int64(w.size) {
					t.Fatalf("referrer %s: %s/%s/%d, want %s/%s/%d", m.Digest, m.MediaType, m.ArtifactType, m.Size,
						w.mediaType, w.artifactType, w.size)
				}
				if w.kind != "" && m.Annotations["org.example.kind"] != w.kind {
					t.Fatalf("referrer %s: annotations %v, want org.example.kind=%s", m.Digest, m.Annotations, w.kind)
				}
			}

			// Filter by artifactType.
			idx, r = h.referrers(repo, subject.digest, "?artifactType="+url.QueryEscape("application/vnd.example.sig"))
			expectHeader(t, "filtered referrers", r, "OCI-Filters-Applied", "artifactType")
			if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != alg.FromBytes(sig) {
				t.Fatalf("referrers filtered to sig: %s", r.body)
			}
			idx, r = h.referrers(repo, subject.digest, "?artifactType="+url.QueryEscape("application/vnd.example.none"))
			expectHeader(t, "filtered referrers", r, "OCI-Filters-Applied", "artifactType")
			if len(idx.Manifests) != 0 {
				t.Fatalf("referrers filtered to nothing: %s", r.body)
			}

			// A deleted referrer disappears.
			expectStatus(t, "DELETE referrer", h.do(http.MethodDelete, "/v2/"+repo+"/manifests/"+string(alg.FromBytes(sig)), nil),
				http.StatusAccepted)
			idx, _ = h.referrers(repo, subject.digest, "")
			if len(idx.Manifests) != 2 {
				t.Fatalf("referrers after delete: %d, want 2", len(idx.Manifests))
			}
			for _, m := range idx.Manifests {
				if m.Digest == alg.FromBytes(sig) {
					t.Fatal("deleted referrer still listed")
				}
			}

			// A malformed digest is a client error.
			expectError(t, "referrers of a bad digest", h.do(http.MethodGet, "/v2/"+repo+"/referrers/sha256:xyz", nil),
				http.StatusBadRequest, "DIGEST_INVALID")
		})
	}
}
