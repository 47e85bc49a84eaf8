package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The test image: busybox-static plus applet symlinks and one marker file,
// built here from the host's /bin/busybox so no test needs the internet.
const (
	busyboxPath   = "/bin/busybox"
	markerPath    = "etc/berth-e2e.txt"
	markerContent = "berth e2e fixture: the bytes a container must read back\n"
	layoutRefName = "latest" // org.opencontainers.image.ref.name in index.json
)

// busyboxApplets become /bin/<name> -> busybox symlinks.
var busyboxApplets = []string{"sh", "echo", "cat", "ls", "httpd", "sleep", "true", "wget"}

// image describes the fixture with digests computed here, independently of
// any client, so tests can compare what a client reports with the truth.
type image struct {
	RootfsTar string // uncompressed layer tar (input for `crane append -f`)
	Layout    string // OCI image layout dir holding the image, ref "latest"

	Manifest       []byte
	ManifestDigest digest.Digest
	Config         []byte
	ConfigDigest   digest.Digest
	LayerDigest    digest.Digest // gzip blob
	LayerSize      int64
	DiffID         digest.Digest // uncompressed tar
	Platform       string        // "linux/<GOARCH>"
}

var (
	fixtureOnce sync.Once
	fixtureImg  *image
	fixtureErr  error
)

// fixture builds the test image once per `go test` process.
func fixture(t testing.TB) *image {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureImg, fixtureErr = buildFixture(filepath.Join(suite.workDir, "fixture"))
	})
	if fixtureErr != nil {
		if _, err := os.Stat(busyboxPath); err != nil {
			skipOrFail(t, "test image needs %s (busybox-static): %v; %s", busyboxPath, err, installHint)
		}
		t.Fatalf("build test image: %v", fixtureErr)
	}
	return fixtureImg
}

func buildFixture(dir string) (*image, error) {
	if err := checkStatic(busyboxPath); err != nil {
		return nil, err
	}
	bb, err := os.ReadFile(busyboxPath)
	if err != nil {
		return nil, err
	}
	rootfs, err := rootfsTar(bb)
	if err != nil {
		return nil, err
	}
	layer, err := gzipBytes(rootfs)
	if err != nil {
		return nil, err
	}

	img := &image{
		RootfsTar:   filepath.Join(dir, "rootfs.tar"),
		Layout:      filepath.Join(dir, "layout"),
		LayerDigest: digest.FromBytes(layer),
		LayerSize:   int64(len(layer)),
		DiffID:      digest.FromBytes(rootfs),
		Platform:    "linux/" + runtime.GOARCH,
	}

	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := ocispec.Image{
		Created:  &epoch,
		Platform: ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH},
		Config: ocispec.ImageConfig{
			Env: []string{"PATH=/bin"},
			Cmd: []string{"/bin/sh"},
		},
		RootFS:  ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{img.DiffID}},
		History: []ocispec.History{{Created: &epoch, CreatedBy: "berth e2e fixture"}},
	}
	if img.Config, err = json.Marshal(cfg); err != nil {
		return nil, err
	}
	img.ConfigDigest = digest.FromBytes(img.Config)

	man := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageConfig,
			Digest:    img.ConfigDigest,
			Size:      int64(len(img.Config)),
		},
		Layers: []ocispec.Descriptor{{
			MediaType: ocispec.MediaTypeImageLayerGzip,
			Digest:    img.LayerDigest,
			Size:      img.LayerSize,
		}},
	}
	if img.Manifest, err = json.Marshal(man); err != nil {
		return nil, err
	}
	img.ManifestDigest = digest.FromBytes(img.Manifest)

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(img.RootfsTar, rootfs, 0o644); err != nil {
		return nil, err
	}
	err = writeLayout(img.Layout, ocispec.Descriptor{
		MediaType:   ocispec.MediaTypeImageManifest,
		Digest:      img.ManifestDigest,
		Size:        int64(len(img.Manifest)),
		Annotations: map[string]string{ocispec.AnnotationRefName: layoutRefName},
	}, img.Manifest, img.Config, layer)
	return img, err
}

// checkStatic rejects a dynamically linked busybox: the image has no libc.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; the test image needs busybox-static", path)
		}
	}
	return nil
}

// rootfsTar lays out /bin/busybox, applet symlinks and the marker file with
// fixed metadata, so the layer digest is the same on every run.
func rootfsTar(busybox []byte) ([]byte, error) {
	mtime := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := func(h *tar.Header) *tar.Header {
		h.ModTime = mtime
		h.Format = tar.FormatPAX
		return h
	}
	entries := []struct {
		h    *tar.Header
		body []byte
	}{
		{hdr(&tar.Header{Typeflag: tar.TypeDir, Name: "bin/", Mode: 0o755}), nil},
		{hdr(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(busybox))}), busybox},
		{hdr(&tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755}), nil},
		{hdr(&tar.Header{Typeflag: tar.TypeReg, Name: markerPath, Mode: 0o644, Size: int64(len(markerContent))}), []byte(markerContent)},
		{hdr(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777}), nil},
	}
	for _, a := range busyboxApplets {
		entries = append(entries, struct {
			h    *tar.Header
			body []byte
		}{hdr(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777}), nil})
	}
	for _, e := range entries {
		if err := tw.WriteHeader(e.h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeLayout writes an OCI image layout holding one manifest and its blobs.
func writeLayout(dir string, desc ocispec.Descriptor, blobs ...[]byte) error {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	for _, b := range blobs {
		p := filepath.Join(dir, "blobs", "sha256", fmt.Sprintf("%x", sha256.Sum256(b)))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	index, err := json.Marshal(ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{desc},
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ocispec.ImageLayoutFile), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

// pushFixture pushes the fixture's OCI layout to ref with crane and checks
// the registry kept the manifest digest.
func pushFixture(t testing.TB, ref string) *image {
	t.Helper()
	requireTools(t, "crane")
	img := fixture(t)
	out := mustRun(t, "crane", "push", img.Layout, ref)
	if got := lastLine(out); got != refWithDigest(ref, img.ManifestDigest) {
		t.Fatalf("crane push %s printed %q, want %q", ref, got, refWithDigest(ref, img.ManifestDigest))
	}
	return img
}

// refWithDigest turns "host/repo:tag" into "host/repo@sha256:...".
func refWithDigest(ref string, d digest.Digest) string {
	return repoOf(ref) + "@" + d.String()
}
