package registry_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/registry"
)

// TestImmutableTags: in a repository an immutableTags rule matches, a PUT
// that would move an existing tag to another digest is refused with DENIED
// naming repository and tag (by tag, and by ?tag=), the same digest again is
// fine, a new tag is fine, deleting the tag or the manifest it names is
// refused, and cosign's tag-schema tags stay mutable. Other repositories
// are untouched.
func TestImmutableTags(t *testing.T) {
	h := newHarnessWith(t, func(c *registry.Config) {
		c.Repositories = []registry.RepositoryRule{{Match: []string{"prod/**"}, ImmutableTags: true}}
	})
	const repo = "prod/app"
	a := h.pushImage(repo, digest.SHA256, "1.0", 1)
	b := h.pushImage(repo, digest.SHA256, "", 2)

	r := h.do(http.MethodPut, "/v2/"+repo+"/manifests/1.0", b.manifest, "Content-Type", mtOCIManifest)
	expectError(t, "moving an immutable tag", r, http.StatusForbidden, "DENIED")
	if msg := string(r.body); !strings.Contains(msg, "tag prod/app:1.0 is immutable (it names "+string(a.digest)+")") {
		t.Errorf("message: %s", msg)
	}
	r = h.do(http.MethodPut, "/v2/"+repo+"/manifests/"+string(b.digest)+"?tag=1.0", b.manifest, "Content-Type", mtOCIManifest)
	expectError(t, "moving an immutable tag by ?tag=", r, http.StatusForbidden, "DENIED")
	h.expectManifest(repo, "1.0", mtOCIManifest, a.manifest, a.digest)

	h.pushManifest(repo, "1.0", mtOCIManifest, a.manifest) // the same digest again
	h.pushManifest(repo, "1.1", mtOCIManifest, b.manifest) // a new tag

	expectError(t, "deleting an immutable tag", h.do(http.MethodDelete, "/v2/"+repo+"/manifests/1.0", nil), http.StatusForbidden, "DENIED")
	expectError(t, "deleting a tagged manifest", h.do(http.MethodDelete, "/v2/"+repo+"/manifests/"+string(a.digest), nil), http.StatusForbidden, "DENIED")
	h.expectManifest(repo, "1.0", mtOCIManifest, a.manifest, a.digest)

	// cosign's .sig tag is rewritten as signatures accrue.
	sigTag := "sha256-" + a.digest.Encoded() + ".sig"
	h.pushManifest(repo, sigTag, mtOCIManifest, a.manifest)
	h.pushManifest(repo, sigTag, mtOCIManifest, b.manifest)

	// Elsewhere tags move freely.
	c := h.pushImage("dev/app", digest.SHA256, "1.0", 3)
	h.pushManifest("dev/app", "1.0", mtOCIManifest, c.manifest)
	d := h.pushImage("dev/app", digest.SHA256, "", 4)
	h.pushManifest("dev/app", "1.0", mtOCIManifest, d.manifest)
}

// signatureReferrer pushes a cosign-bundle-style referrer of subject with
// the given predicate type annotation ("" for none).
func pushReferrer(h *harness, repo string, subject image, artifactType, predicateType string) {
	h.t.Helper()
	empty := []byte("{}")
	h.pushBlob(repo, empty, digest.SHA256)
	blob := []byte(fmt.Sprintf(`{"bundle":%q}`, predicateType))
	h.pushBlob(repo, blob, digest.SHA256)
	ann := ""
	if predicateType != "" {
		ann = fmt.Sprintf(`,"annotations":{"dev.sigstore.bundle.predicateType":%q}`, predicateType)
	}
	m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"artifactType":%q,"config":%s,"layers":[%s],"subject":%s%s}`,
		mtOCIManifest, artifactType, descriptor("application/vnd.oci.empty.v1+json", empty, digest.SHA256),
		descriptor(artifactType, blob, digest.SHA256), descriptor(mtOCIManifest, subject.manifest, digest.SHA256), ann)
	h.pushManifest(repo, string(digest.FromString(m)), mtOCIManifest, []byte(m))
}

// TestRequireSignature: a GET or HEAD by tag of an unsigned manifest in a
// requireSignature repository is refused with DENIED naming the repository,
// tag and digest; by digest it is served (signing tools fetch by digest);
// an attestation (SBOM) is no signature; a signature referrer, or cosign's
// legacy sha256-<hex>.sig tag, makes the tag pullable.
func TestRequireSignature(t *testing.T) {
	h := newHarnessWith(t, func(c *registry.Config) {
		c.Repositories = []registry.RepositoryRule{{Match: []string{"prod/*"}, RequireSignature: registry.SignatureRule{Enabled: true}}}
	})
	const repo = "prod/app"
	a := h.pushImage(repo, digest.SHA256, "1.0", 1)
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		r := h.do(m, "/v2/"+repo+"/manifests/1.0", nil, "Accept", mtOCIManifest)
		expectStatus(t, m+" unsigned by tag", r, http.StatusForbidden)
		if m == http.MethodGet {
			expectError(t, "GET unsigned by tag", r, http.StatusForbidden, "DENIED")
			if !strings.Contains(string(r.body), "prod/app:1.0 ("+string(a.digest)+") has no signature") {
				t.Errorf("message: %s", r.body)
			}
		}
	}
	h.expectManifest(repo, string(a.digest), mtOCIManifest, a.manifest, a.digest)

	pushReferrer(h, repo, a, "application/vnd.dev.sigstore.bundle.v0.3+json", "https://spdx.dev/Document")
	expectStatus(t, "GET with only an SBOM", h.do(http.MethodGet, "/v2/"+repo+"/manifests/1.0", nil), http.StatusForbidden)
	pushReferrer(h, repo, a, "application/vnd.dev.sigstore.bundle.v0.3+json", "https://sigstore.dev/cosign/sign/v1")
	h.expectManifest(repo, "1.0", mtOCIManifest, a.manifest, a.digest)

	// The legacy tag schema.
	b := h.pushImage(repo, digest.SHA256, "2.0", 2)
	expectStatus(t, "GET unsigned 2.0", h.do(http.MethodGet, "/v2/"+repo+"/manifests/2.0", nil), http.StatusForbidden)
	sig := h.pushImage(repo, digest.SHA256, "", 3)
	h.pushManifest(repo, "sha256-"+b.digest.Encoded()+".sig", mtOCIManifest, sig.manifest)
	h.expectManifest(repo, "sha256-"+b.digest.Encoded()+".sig", mtOCIManifest, sig.manifest, sig.digest)
	h.expectManifest(repo, "2.0", mtOCIManifest, b.manifest, b.digest)

	// Other repositories are not affected.
	c := h.pushImage("dev/app", digest.SHA256, "1.0", 4)
	h.expectManifest("dev/app", "1.0", mtOCIManifest, c.manifest, c.digest)
}

type keyChecker struct{ ok bool }

func (k keyChecker) LoadKey(path string) (registry.SignatureKey, error) { return path, nil }

func (k keyChecker) Verified(context.Context, http.RoundTripper, string, digest.Digest, []registry.SignatureKey) (bool, error) {
	return k.ok, nil
}

// TestRequireSignatureKeys: with keys the checker decides; without a
// checker, keys are a configuration error naming the field.
func TestRequireSignatureKeys(t *testing.T) {
	key := t.TempDir() + "/release.pub"
	if err := os.WriteFile(key, []byte("-----BEGIN PUBLIC KEY-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rule := []registry.RepositoryRule{{Match: []string{"**"}, RequireSignature: registry.SignatureRule{Enabled: true, Keys: []string{key}}}}
	cfg := registry.DefaultConfig()
	cfg.Repositories = rule
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "repositories[0].requireSignature.keys") {
		t.Errorf("keys without a checker: %v", err)
	}
	cfg.SignatureChecker = keyChecker{}
	cfg.Repositories = []registry.RepositoryRule{{Match: []string{"**"}, RequireSignature: registry.SignatureRule{Enabled: true, Keys: []string{key + ".missing"}}}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "repositories[0].requireSignature.keys[0]: stat "+key+".missing: no such file") {
		t.Errorf("missing key file: %v", err)
	}
	for _, ok := range []bool{false, true} {
		h := newHarnessWith(t, func(c *registry.Config) { c.Repositories, c.SignatureChecker = rule, keyChecker{ok} })
		a := h.pushImage("app", digest.SHA256, "1.0", 1)
		r := h.do(http.MethodGet, "/v2/app/manifests/1.0", nil)
		if ok {
			expectStatus(t, "verified", r, http.StatusOK)
		} else {
			expectError(t, "not verified", r, http.StatusForbidden, "DENIED")
			if !strings.Contains(string(r.body), "no signature that verifies with the repository's keys") {
				t.Errorf("message %s", r.body)
			}
		}
		_ = a
	}
}

// TestLoadConfigRepositoryRules: the rules read from berth-registry.yaml
// (requireSignature as true or {keys:}); bad patterns and unknown fields
// are errors naming the field.
func TestLoadConfigRepositoryRules(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := registry.LoadConfig(write("ok.yaml", "root: /srv/reg\nrepositories:\n  - match: [\"prod/**\"]\n    immutableTags: true\n    requireSignature: true\n  - match: [\"dev/*\"]\n    requireSignature: false\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Repositories) != 2 || !cfg.Repositories[0].ImmutableTags || !cfg.Repositories[0].RequireSignature.Enabled || cfg.Repositories[1].RequireSignature.Enabled {
		t.Errorf("rules %+v", cfg.Repositories)
	}
	for body, want := range map[string]string{
		"repositories:\n  - match: [\"prod//x\"]\n":                          "repositories[0].match[0]: pattern \"prod//x\" has an empty segment",
		"repositories:\n  - immutableTags: true\n":                           "repositories[0].match: empty",
		"repositories:\n  - match: [a]\n    immutable: true\n":               "immutable",
		"repositories:\n  - match: [a]\n    requireSignature: {key: [x]}\n":  "requireSignature: want true, false or {keys: [FILE...]}",
		"repositories:\n  - match: [a]\n    requireSignature: {keys: [x]}\n": "repositories[0].requireSignature.keys: verifying signatures with keys is not available",
	} {
		if _, err := registry.LoadConfig(write("bad.yaml", "root: /srv/reg\n"+body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
}

// countingChecker counts LoadKey calls and checks Verified gets what
// LoadKey returned.
type countingChecker struct {
	mu     sync.Mutex
	loads  int
	seen   []registry.SignatureKey
	reject string // LoadKey fails for this path
}

type loadedKey struct{ path string }

func (c *countingChecker) LoadKey(path string) (registry.SignatureKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loads++
	if path == c.reject {
		return nil, fmt.Errorf("%s: not a public key", path)
	}
	return loadedKey{path}, nil
}

func (c *countingChecker) Verified(_ context.Context, _ http.RoundTripper, _ string, _ digest.Digest, keys []registry.SignatureKey) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = keys
	return true, nil
}

// TestRequireSignatureKeysLoadedOnce: the registry loads each key through
// the checker once, when it opens, and verifies every pull with the loaded
// keys of all the rules that match (no key file is read per pull); a key
// the checker cannot load fails Open, naming the field.
func TestRequireSignatureKeysLoadedOnce(t *testing.T) {
	dir := t.TempDir()
	var keys []string
	for _, n := range []string{"a.pub", "b.pub"} {
		keys = append(keys, dir+"/"+n)
		if err := os.WriteFile(dir+"/"+n, []byte("key"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := &countingChecker{}
	h := newHarnessWith(t, func(cfg *registry.Config) {
		cfg.SignatureChecker = c
		cfg.Repositories = []registry.RepositoryRule{
			{Match: []string{"**"}, RequireSignature: registry.SignatureRule{Enabled: true, Keys: keys[:1]}},
			{Match: []string{"app"}, RequireSignature: registry.SignatureRule{Enabled: true, Keys: keys[1:]}},
		}
	})
	h.pushImage("app", digest.SHA256, "1.0", 1)
	for range 3 {
		expectStatus(t, "verified pull", h.do(http.MethodGet, "/v2/app/manifests/1.0", nil), http.StatusOK)
	}
	c.mu.Lock()
	loads, seen := c.loads, fmt.Sprint(c.seen)
	c.mu.Unlock()
	if loads != 2 {
		t.Errorf("LoadKey called %d times for 2 keys and 3 pulls, want 2 (at open)", loads)
	}
	if want := fmt.Sprint([]registry.SignatureKey{loadedKey{keys[0]}, loadedKey{keys[1]}}); seen != want {
		t.Errorf("Verified got keys %s, want %s", seen, want)
	}

	cfg := registry.DefaultConfig()
	cfg.Root = t.TempDir()
	cfg.GC.Interval = 0
	cfg.SignatureChecker = &countingChecker{reject: keys[1]}
	cfg.Repositories = []registry.RepositoryRule{{Match: []string{"**"}, RequireSignature: registry.SignatureRule{Enabled: true, Keys: keys}}}
	if _, err := registry.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || err.Error() != "repositories[0].requireSignature.keys[1]: "+keys[1]+": not a public key" {
		t.Errorf("a key the checker cannot load: %v", err)
	}
}
