package registry_test

// Shared harness of the OCI Distribution Spec conformance suite: a real
// registry on a temporary root behind a real HTTP server, a client that
// never follows redirects (so tests see exactly what the registry sends),
// and helpers that push blobs, manifests and images.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/registry"

	_ "crypto/sha256" // go-digest hashes only with linked-in algorithms
	_ "crypto/sha512"
)

// Media types used throughout the suite.
const (
	mtOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	mtOCIIndex       = "application/vnd.oci.image.index.v1+json"
	mtOCIConfig      = "application/vnd.oci.image.config.v1+json"
	mtOCILayer       = "application/vnd.oci.image.layer.v1.tar+gzip"
	mtOCIEmpty       = "application/vnd.oci.empty.v1+json"
	mtDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mtDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mtDockerConfig   = "application/vnd.docker.container.image.v1+json"
	mtDockerLayer    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
)

// algorithms are the digest algorithms every digest-related check runs with.
var algorithms = []digest.Algorithm{digest.SHA256, digest.SHA512}

// harness is one registry served over HTTP.
type harness struct {
	t         *testing.T
	root      string
	configure func(*registry.Config)
	reg       *registry.Registry
	srv       *httptest.Server
	client    *http.Client
}

func newHarness(t *testing.T) *harness { return newHarnessWith(t, nil) }

// newHarnessWith is newHarness with configure applied to the registry's
// configuration (after the suite's own settings) on every start.
func newHarnessWith(t *testing.T, configure func(*registry.Config)) *harness {
	t.Helper()
	h := &harness{t: t, root: t.TempDir(), configure: configure}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) start() {
	h.t.Helper()
	cfg := registry.DefaultConfig()
	cfg.Root = h.root
	cfg.Log.Access = false
	// The suite must not race an online collector: nothing here waits an
	// hour, but say so rather than rely on it.
	cfg.GC.Interval = 0
	if h.configure != nil {
		h.configure(&cfg)
	}
	reg, err := registry.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		h.t.Fatalf("registry.Open(%s): %v", h.root, err)
	}
	h.reg = reg
	h.srv = httptest.NewServer(reg.Handler())
	h.client = h.srv.Client()
	h.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
}

func (h *harness) stop() {
	if h.srv != nil {
		h.srv.Close()
		h.srv = nil
	}
	if h.reg != nil {
		if err := h.reg.Close(); err != nil {
			h.t.Errorf("closing the registry: %v", err)
		}
		h.reg = nil
	}
}

// restart stops the server and the registry and opens a new registry on
// the same root, behind a new server (on another port).
func (h *harness) restart() {
	h.t.Helper()
	h.stop()
	h.start()
}

// response is a fully read HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string {
	b := r.body
	if len(b) > 300 {
		b = b[:300]
	}
	return fmt.Sprintf("%d %s", r.status, b)
}

// url turns a path or a Location (relative or absolute) into a URL on the
// current server.
func (h *harness) url(target string) string {
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		return target
	}
	return h.srv.URL + target
}

// send makes one request; headers are key, value pairs. It is safe to call
// from several goroutines.
func (h *harness) send(method, target string, body []byte, headers ...string) (response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url(target), rd)
	if err != nil {
		return response{}, err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: reading body: %w", method, target, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// do is send that fails the test on a transport error.
func (h *harness) do(method, target string, body []byte, headers ...string) response {
	h.t.Helper()
	r, err := h.send(method, target, body, headers...)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// expectStatus fails the test unless r has one of the wanted statuses.
func expectStatus(t *testing.T, what string, r response, want ...int) {
	t.Helper()
	for _, w := range want {
		if r.status == w {
			return
		}
	}
	t.Fatalf("%s: status %s, want %v", what, r, want)
}

// expectHeader fails the test unless header key of r is want.
func expectHeader(t *testing.T, what string, r response, key, want string) {
	t.Helper()
	if got := r.header.Get(key); got != want {
		t.Fatalf("%s: %s = %q, want %q", what, key, got, want)
	}
}

// specErrorCodes are the codes the spec defines, plus the ones distribution
// added and clients know (TAG_INVALID drives skopeo's format fallback,
// RANGE_INVALID and PAGINATION_NUMBER_INVALID come from distribution).
var specErrorCodes = map[string]bool{
	"BLOB_UNKNOWN": true, "BLOB_UPLOAD_INVALID": true, "BLOB_UPLOAD_UNKNOWN": true,
	"DIGEST_INVALID": true, "MANIFEST_BLOB_UNKNOWN": true, "MANIFEST_INVALID": true,
	"MANIFEST_UNKNOWN": true, "NAME_INVALID": true, "NAME_UNKNOWN": true,
	"SIZE_INVALID": true, "UNAUTHORIZED": true, "DENIED": true, "UNSUPPORTED": true,
	"TOOMANYREQUESTS": true, "TAG_INVALID": true, "RANGE_INVALID": true,
	"PAGINATION_NUMBER_INVALID": true,
}

// errorBody checks that r carries the spec's error body,
// {"errors":[{"code":..., "message":..., "detail":...}]}, and returns the
// first code.
func errorBody(t *testing.T, what string, r response) string {
	t.Helper()
	var body struct {
		Errors []map[string]json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("%s: error body is not JSON: %v: %s", what, err, r)
	}
	if len(body.Errors) == 0 {
		t.Fatalf("%s: error body has no errors: %s", what, r)
	}
	first := ""
	for i, e := range body.Errors {
		var code, msg string
		if err := json.Unmarshal(e["code"], &code); err != nil || code == "" {
			t.Fatalf("%s: errors[%d].code missing or not a string: %s", what, i, r)
		}
		if !specErrorCodes[code] {
			t.Fatalf("%s: errors[%d].code %q is not a spec error code", what, i, code)
		}
		// message and detail are optional in the spec; when present,
		// message is a string.
		if raw, ok := e["message"]; ok {
			if err := json.Unmarshal(raw, &msg); err != nil {
				t.Fatalf("%s: errors[%d].message is not a string: %s", what, i, r)
			}
		}
		for k := range e {
			if k != "code" && k != "message" && k != "detail" {
				t.Fatalf("%s: errors[%d] has unexpected member %q", what, i, k)
			}
		}
		if i == 0 {
			first = code
		}
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s: error Content-Type %q, want application/json", what, ct)
	}
	return first
}

// expectError checks the status and the spec error body with the given code.
func expectError(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	expectStatus(t, what, r, status)
	if got := errorBody(t, what, r); got != code {
		t.Fatalf("%s: error code %q, want %q (%s)", what, got, code, r)
	}
}

// withQuery adds key=value to a Location, keeping what query it has, as
// clients must.
func withQuery(t *testing.T, loc string, kv ...string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// location returns r's Location and checks it is there and relative (a
// path on this registry, so it works behind any proxy).
func location(t *testing.T, what string, r response) string {
	t.Helper()
	loc := r.header.Get("Location")
	if loc == "" {
		t.Fatalf("%s: no Location header (%s)", what, r)
	}
	if !strings.HasPrefix(loc, "/v2/") {
		t.Fatalf("%s: Location %q is not a /v2/ path", what, loc)
	}
	return loc
}

// content returns n deterministic bytes that differ with seed, so that
// ranges and chunks are checked against distinct values.
func content(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i) ^ byte(i>>8)*31 ^ seed
	}
	return b
}

// pushBlob uploads data monolithically (POST ?digest=) into repo.
func (h *harness) pushBlob(repo string, data []byte, alg digest.Algorithm) digest.Digest {
	h.t.Helper()
	d := alg.FromBytes(data)
	r := h.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+url.QueryEscape(string(d)), data,
		"Content-Type", "application/octet-stream")
	expectStatus(h.t, "monolithic push of "+string(d), r, http.StatusCreated)
	expectHeader(h.t, "monolithic push", r, "Docker-Content-Digest", string(d))
	return d
}

// pushManifest PUTs a manifest and expects 201 with the right digest.
func (h *harness) pushManifest(repo, ref, mediaType string, body []byte) response {
	h.t.Helper()
	r := h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+ref, body, "Content-Type", mediaType)
	expectStatus(h.t, "PUT manifest "+repo+":"+ref, r, http.StatusCreated)
	want := digest.FromBytes(body)
	if d, err := digest.Parse(ref); err == nil {
		want = d
	}
	expectHeader(h.t, "PUT manifest", r, "Docker-Content-Digest", string(want))
	location(h.t, "PUT manifest", r)
	return r
}

// descriptor is the JSON of a content descriptor for data, with extra
// members (already JSON, e.g. `"artifactType":"x"`) appended.
func descriptor(mediaType string, data []byte, alg digest.Algorithm, extra ...string) string {
	s := fmt.Sprintf(`{"mediaType":%q,"digest":%q,"size":%d`, mediaType, alg.FromBytes(data), len(data))
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

// dataMember is the descriptor member that embeds data.
func dataMember(data []byte) string {
	return fmt.Sprintf(`"data":%q`, base64.StdEncoding.EncodeToString(data))
}

// image is a pushed OCI image: its blobs and manifest.
type image struct {
	config   []byte
	layers   [][]byte
	manifest []byte
	digest   digest.Digest // of the manifest, in the image's algorithm
}

// pushImage pushes a config and two layers hashed with alg, then an OCI
// image manifest that references them, by digest (in alg) and, when tag is
// set, under tag. seed makes the content unique.
func (h *harness) pushImage(repo string, alg digest.Algorithm, tag string, seed byte) image {
	h.t.Helper()
	img := image{
		config: []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","seed":%d}`, seed)),
		layers: [][]byte{content(1000, seed), content(2500, seed+1)},
	}
	h.pushBlob(repo, img.config, alg)
	var layers []string
	for _, l := range img.layers {
		h.pushBlob(repo, l, alg)
		layers = append(layers, descriptor(mtOCILayer, l, alg))
	}
	img.manifest = []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":%s,"layers":[%s]}`,
		mtOCIManifest, descriptor(mtOCIConfig, img.config, alg), strings.Join(layers, ",")))
	img.digest = alg.FromBytes(img.manifest)
	ref := string(img.digest)
	if tag != "" {
		ref += "?tag=" + tag
	}
	r := h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+ref, img.manifest, "Content-Type", mtOCIManifest)
	expectStatus(h.t, "PUT image manifest", r, http.StatusCreated)
	expectHeader(h.t, "PUT image manifest", r, "Docker-Content-Digest", string(img.digest))
	return img
}

// tagList reads the whole tag list of repo in one request.
func (h *harness) tagList(repo string) []string {
	h.t.Helper()
	r := h.do(http.MethodGet, "/v2/"+repo+"/tags/list", nil)
	expectStatus(h.t, "tag list", r, http.StatusOK)
	var body struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		h.t.Fatalf("tag list: %v: %s", err, r)
	}
	if body.Name != repo {
		h.t.Fatalf("tag list: name %q, want %q", body.Name, repo)
	}
	return body.Tags
}
