package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Helpers of the `berth build` tests: the local apt repository, running
// berth build with a chosen cache, copies of the examples, built results.

// aptRepoTimeout bounds scripts/aptrepo.sh: a cold run downloads ~60 debs.
const aptRepoTimeout = 10 * time.Minute

var (
	aptRepoOnce sync.Once
	aptRepoPath string
	aptRepoErr  error
	aptRepoLog  string
)

// aptRepoDir is where scripts/aptrepo.sh keeps the test repository, shared
// with internal/deb's tests: $BERTH_TEST_APTREPO, else
// <user cache dir>/berth-test/aptrepo.
func aptRepoDir() string {
	if d := os.Getenv("BERTH_TEST_APTREPO"); d != "" {
		return d
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "berth-test", "aptrepo")
}

// aptRepo builds (once per process; the script is idempotent, a warm cache
// costs a second) the signed local apt repository of real Debian packages
// and returns its directory.
func aptRepo(t testing.TB) string {
	t.Helper()
	requireTools(t, "bash") // the script checks (and installs) what else it needs
	aptRepoOnce.Do(func() {
		dir := aptRepoDir()
		ctx, cancel := context.WithTimeout(context.Background(), aptRepoTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(suite.repoRoot, "scripts", "aptrepo.sh"), dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		aptRepoErr = cmd.Run()
		aptRepoPath, aptRepoLog = dir, out.String()
	})
	if aptRepoErr != nil {
		// No network to Debian's mirrors is an environment problem, not a
		// berth bug: the usual skip/fail policy applies.
		skipOrFail(t, "scripts/aptrepo.sh %s: %v\n%s", aptRepoPath, aptRepoErr, aptRepoLog)
	}
	return aptRepoPath
}

// serveDir serves dir over HTTP on loopback until the test ends, through
// wrap when it is not nil (to tamper with what is served).
func serveDir(t testing.TB, dir string, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = http.FileServer(http.Dir(dir))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

var (
	sharedCacheOnce sync.Once
	sharedCache     string
)

// buildEnv is how berth build runs in a test: which apt repository the
// examples' ${BERTH_APT_URL} names and which build cache it uses.
type buildEnv struct {
	AptURL string
	Cache  string
}

// newBuildEnv serves the local apt repository and picks the build cache:
// cold gives the test a cache of its own; otherwise every test of the
// process shares one, so a layer built once is not built again.
func newBuildEnv(t testing.TB, cold bool) *buildEnv {
	t.Helper()
	if suite.buildErr != nil {
		t.Fatalf("berth does not build: %v", suite.buildErr)
	}
	if suite.berthBin == "" {
		t.Skipf("%s=%s: berth build tests need berth", registryEnv, suite.kind)
	}
	e := &buildEnv{AptURL: serveDir(t, aptRepo(t), nil)}
	if cold {
		e.Cache = t.TempDir()
	} else {
		sharedCacheOnce.Do(func() { sharedCache = filepath.Join(suite.workDir, "build-cache") })
		e.Cache = sharedCache
	}
	return e
}

func (e *buildEnv) env() []string {
	return []string{"BERTH_APT_URL=" + e.AptURL, "BERTH_CACHE=" + e.Cache}
}

// berth runs berth with the build environment and fails the test unless it
// exits 0; it returns stdout.
func (e *buildEnv) berth(t testing.TB, args ...string) string {
	t.Helper()
	return mustRunEnv(t, e.env(), suite.berthBin, args...)
}

// berthFail runs berth expecting it to fail.
func (e *buildEnv) berthFail(t testing.TB, args ...string) cmdResult {
	t.Helper()
	return mustFailEnv(t, e.env(), suite.berthBin, args...)
}

// builtLayer and builtImage are `berth build --json` output.
type builtLayer struct {
	Name     string        `json:"name"`
	Kind     string        `json:"kind"`
	Digest   string        `json:"digest"`
	DiffID   string        `json:"diffID"`
	Size     int64         `json:"size"`
	Files    int           `json:"files"`
	Cached   bool          `json:"cached"`
	Duration time.Duration `json:"duration"`
}

type builtImage struct {
	Image       string       `json:"image"`
	Variant     string       `json:"variant"`
	Digest      string       `json:"digest"`
	Base        string       `json:"base"`
	Destination string       `json:"destination"`
	Layers      []builtLayer `json:"layers"`
}

// layer returns the image's own layer called name.
func (b builtImage) layer(t testing.TB, name string) builtLayer {
	t.Helper()
	for _, l := range b.Layers {
		if l.Name == name {
			return l
		}
	}
	t.Fatalf("image %s has no layer %q: %+v", b.Image, name, b.Layers)
	return builtLayer{}
}

// build runs `berth build -f DIR/berth.yaml --json ARGS...` and returns the
// images it reports, and how long it took.
func (e *buildEnv) build(t testing.TB, dir string, args ...string) ([]builtImage, time.Duration) {
	t.Helper()
	start := time.Now()
	out := e.berth(t, append([]string{"build", "-f", filepath.Join(dir, "berth.yaml"), "--json"}, args...)...)
	took := time.Since(start)
	var imgs []builtImage
	mustJSON(t, out, &imgs)
	if len(imgs) == 0 {
		t.Fatalf("berth build %v reported no image:\n%s", args, out)
	}
	return imgs, took
}

// build1 is build for one image.
func (e *buildEnv) build1(t testing.TB, dir string, args ...string) (builtImage, time.Duration) {
	t.Helper()
	imgs, took := e.build(t, dir, args...)
	if len(imgs) != 1 {
		t.Fatalf("berth build %v reported %d images, want 1", args, len(imgs))
	}
	return imgs[0], took
}

// copyExample copies examples/NAME into a new temp dir and returns the copy,
// so a test can edit it and builds never write into the source tree.
func copyExample(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join(suite.repoRoot, "examples", name)
	dst := filepath.Join(t.TempDir(), name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, info.Mode().Perm())
		}
		return fmt.Errorf("%s: not a file or directory", p)
	})
	if err != nil {
		t.Fatalf("copy example %s: %v", name, err)
	}
	return dst
}

// writeFile writes a file below dir, creating its parents.
func writeFile(t testing.TB, dir, rel, content string) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// editFile replaces old with new in a file, failing if old is not there
// exactly once (so an example that changed shape is noticed).
func editFile(t testing.TB, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), old); n != 1 {
		t.Fatalf("%s: %q occurs %d times, want once", path, old, n)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// layoutManifest reads the manifest tagged tag in an OCI layout, checking
// every blob of the layout hashes to its name.
func layoutManifest(t testing.TB, dir, tag string) (ocispec.Descriptor, ocispec.Manifest) {
	t.Helper()
	idx := readLayout(t, dir)
	for _, d := range idx.Manifests {
		if d.Annotations[ocispec.AnnotationRefName] == tag {
			var m ocispec.Manifest
			if err := json.Unmarshal(layoutBlob(t, dir, d.Digest), &m); err != nil {
				t.Fatalf("OCI layout %s: manifest %s: %v", dir, d.Digest, err)
			}
			return d, m
		}
	}
	t.Fatalf("OCI layout %s has no manifest tagged %q: %+v", dir, tag, idx.Manifests)
	return ocispec.Descriptor{}, ocispec.Manifest{}
}

// layerDigests lists a manifest's layer digests as strings.
func layerDigests(m ocispec.Manifest) []string {
	out := make([]string, len(m.Layers))
	for i, l := range m.Layers {
		out[i] = l.Digest.String()
	}
	return out
}

// registryManifest fetches and decodes an image manifest from a registry.
func registryManifest(t testing.TB, reg *Registry, repo, reference string) ocispec.Manifest {
	t.Helper()
	r := getManifest(t, reg, repo, reference)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v2/%s/manifests/%s: %d %s", repo, reference, r.Status, r.Body)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("manifest %s:%s: %v", repo, reference, err)
	}
	return m
}

// runContainer starts image detached on the host network (the test dockerd
// has no bridge) and removes it when the test ends, logging its output
// if the test failed.
func (d *dockerDaemon) runContainer(t *testing.T, image string, runArgs []string, args ...string) string {
	t.Helper()
	full := append([]string{"run", "-d", "--network", "host"}, runArgs...)
	full = append(full, image)
	full = append(full, args...)
	id := strings.TrimSpace(d.run(t, full...))
	t.Cleanup(func() {
		if t.Failed() {
			r := runEnv(t, d.env, "docker", "logs", id)
			t.Logf("container %s output:\n%s%s", image, r.Stdout, r.Stderr)
		}
		runEnv(t, d.env, "docker", "rm", "-f", id)
	})
	return id
}

// httpGetWhenUp polls url until it answers 200 (a container is starting)
// and returns the body; it fails after the deadline with the last error.
func httpGetWhenUp(t testing.TB, url string, within time.Duration) []byte {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(within)
	var last string
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && rerr == nil {
				return body
			}
			last = fmt.Sprintf("%s: %s", resp.Status, truncate(body))
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: no 200 within %v; last: %s", url, within, last)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

// portFree reports whether nothing listens on 127.0.0.1:port or *:port.
func portFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// readFileString reads a file the test wrote or expects.
func readFileString(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tarEntry is one entry of a layer tar; Content is kept for regular files.
type tarEntry struct {
	Type    byte
	Mode    int64
	UID     int
	GID     int
	Size    int64
	Link    string
	Content []byte
}

// layoutLayerEntries reads one gzip layer blob of an OCI layout (on its
// own, without berth's code) into its entries by path ("usr/bin/env").
func layoutLayerEntries(t testing.TB, layout, digest string) map[string]tarEntry {
	t.Helper()
	d := strings.TrimPrefix(digest, "sha256:")
	f, err := os.Open(filepath.Join(layout, "blobs", "sha256", d))
	if err != nil {
		t.Fatalf("layer %s: %v", digest, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("layer %s: %v", digest, err)
	}
	out := map[string]tarEntry{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("layer %s: %v", digest, err)
		}
		e := tarEntry{Type: h.Typeflag, Mode: h.Mode, UID: h.Uid, GID: h.Gid, Size: h.Size, Link: h.Linkname}
		if h.Typeflag == tar.TypeReg {
			if e.Content, err = io.ReadAll(tr); err != nil {
				t.Fatalf("layer %s: %s: %v", digest, h.Name, err)
			}
		}
		out[strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")] = e
	}
}
