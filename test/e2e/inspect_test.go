package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Helpers that look at results on their own, without the client under test:
// raw HTTP against the registry, OCI layouts and tarballs on disk.

// manifestAccept lists every manifest media type, as pulling clients send.
var manifestAccept = strings.Join([]string{
	ocispec.MediaTypeImageManifest,
	ocispec.MediaTypeImageIndex,
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}, ", ")

const dockerManifestV2 = "application/vnd.docker.distribution.manifest.v2+json"

type httpResult struct {
	Status int
	Header http.Header
	Body   []byte
}

// httpDo sends one request to a registry and returns the whole response.
func httpDo(t testing.TB, method, url string, header map[string]string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return httpResult{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// getManifest fetches /v2/<repo>/manifests/<reference> with every manifest
// media type accepted.
func getManifest(t testing.TB, reg *Registry, repo, reference string) httpResult {
	t.Helper()
	return httpDo(t, http.MethodGet, reg.URL("/v2/"+repo+"/manifests/"+reference), map[string]string{"Accept": manifestAccept})
}

// expectManifestUnknown checks that a manifest GET answers 404 with the
// spec's MANIFEST_UNKNOWN (or NAME_UNKNOWN once the repository is gone).
func expectManifestUnknown(t testing.TB, reg *Registry, repo, reference string) {
	t.Helper()
	r := getManifest(t, reg, repo, reference)
	if r.Status != http.StatusNotFound {
		t.Fatalf("GET /v2/%s/manifests/%s: status %d, want 404; body %s", repo, reference, r.Status, r.Body)
	}
	var body struct {
		Errors []struct{ Code string }
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Errors) == 0 {
		t.Fatalf("GET /v2/%s/manifests/%s: 404 body %q is not an error envelope {\"errors\":[...]}", repo, reference, r.Body)
	}
	if c := body.Errors[0].Code; c != "MANIFEST_UNKNOWN" && c != "NAME_UNKNOWN" {
		t.Fatalf("GET /v2/%s/manifests/%s: error code %q, want MANIFEST_UNKNOWN", repo, reference, c)
	}
}

// listTags returns the registry's tag list for repo; a 404 (repository gone)
// is an empty list.
func listTags(t testing.TB, reg *Registry, repo string) []string {
	t.Helper()
	r := httpDo(t, http.MethodGet, reg.URL("/v2/"+repo+"/tags/list"), nil)
	if r.Status == http.StatusNotFound {
		return nil
	}
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v2/%s/tags/list: status %d; body %s", repo, r.Status, r.Body)
	}
	var body struct{ Tags []string }
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("GET /v2/%s/tags/list: %v; body %s", repo, err, r.Body)
	}
	return body.Tags
}

// readLayout reads an OCI layout's index.json and checks every blob file
// hashes to its name, so a copy that wrote wrong bytes is caught.
func readLayout(t testing.TB, dir string) ocispec.Index {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatalf("OCI layout: %v", err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatalf("OCI layout %s/index.json: %v", dir, err)
	}
	blobs := filepath.Join(dir, "blobs", "sha256")
	entries, err := os.ReadDir(blobs)
	if err != nil {
		t.Fatalf("OCI layout: %v", err)
	}
	for _, e := range entries {
		if got := fileDigest(t, filepath.Join(blobs, e.Name())); got.Encoded() != e.Name() {
			t.Fatalf("OCI layout blob %s hashes to %s", e.Name(), got)
		}
	}
	return idx
}

// layoutBlob reads one blob of an OCI layout.
func layoutBlob(t testing.TB, dir string, d digest.Digest) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded()))
	if err != nil {
		t.Fatalf("OCI layout %s: blob %s: %v", dir, d, err)
	}
	return b
}

func fileDigest(t testing.TB, path string) digest.Digest {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return digest.NewDigestFromBytes(digest.SHA256, h.Sum(nil))
}

// tarFiles returns the regular files of a tar archive by name.
func tarFiles(t testing.TB, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("read tar %s: %v", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read tar %s: %s: %v", path, h.Name, err)
		}
		files[strings.TrimPrefix(h.Name, "./")] = b
	}
}

// dockerArchiveManifest is manifest.json of a `docker save` style tarball.
type dockerArchiveManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// checkDockerArchive checks that a docker-archive tarball holds the fixture:
// a config whose rootfs is the fixture's layer and that layer's bytes.
func checkDockerArchive(t testing.TB, path string, img *image) {
	t.Helper()
	files := tarFiles(t, path)
	var mans []dockerArchiveManifest
	if err := json.Unmarshal(files["manifest.json"], &mans); err != nil || len(mans) != 1 {
		t.Fatalf("%s: manifest.json %q: want one entry (err %v)", path, files["manifest.json"], err)
	}
	m := mans[0]
	cfgBytes, ok := files[m.Config]
	if !ok {
		t.Fatalf("%s: config %q missing", path, m.Config)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(cfgBytes, &cfg); err != nil {
		t.Fatalf("%s: config: %v", path, err)
	}
	if !slices.Equal(cfg.RootFS.DiffIDs, []digest.Digest{img.DiffID}) {
		t.Fatalf("%s: config diff_ids %v, want [%s]", path, cfg.RootFS.DiffIDs, img.DiffID)
	}
	if len(m.Layers) != 1 {
		t.Fatalf("%s: layers %v, want one", path, m.Layers)
	}
	layer, ok := files[m.Layers[0]]
	if !ok {
		t.Fatalf("%s: layer %q missing", path, m.Layers[0])
	}
	if got := layerDiffID(t, layer); got != img.DiffID {
		t.Fatalf("%s: layer %s has diff id %s, want %s", path, m.Layers[0], got, img.DiffID)
	}
}

// layerDiffID hashes a layer's uncompressed bytes, gunzipping if needed.
func layerDiffID(t testing.TB, layer []byte) digest.Digest {
	t.Helper()
	if len(layer) > 2 && layer[0] == 0x1f && layer[1] == 0x8b {
		raw, err := gunzip(layer)
		if err != nil {
			t.Fatalf("gunzip layer: %v", err)
		}
		layer = raw
	}
	return digest.FromBytes(layer)
}

// lastLine returns the last non-empty line of command output, trimmed.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// repoOf strips the tag or digest from an image reference.
func repoOf(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i]
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[:i]
	}
	return ref
}

// mustJSON decodes command output into v, failing with the output.
func mustJSON(t testing.TB, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("decode JSON: %v\n%s", err, out)
	}
}

// expectBytes fails unless two byte slices are the same, showing both.
func expectBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if string(got) != string(want) {
		t.Fatalf("%s differ:\n got: %s\nwant: %s", what, truncate(got), truncate(want))
	}
}

func truncate(b []byte) string {
	const max = 600
	if len(b) > max {
		return fmt.Sprintf("%s... (%d bytes)", b[:max], len(b))
	}
	return string(b)
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(zr)
}

func itoa(n int) string { return strconv.Itoa(n) }
