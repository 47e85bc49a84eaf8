package imageref

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// testImage is a random two-layer image with a platform in its config.
func testImage(t *testing.T, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sameContent compares config and layer digests (a docker-archive rebuilds
// the manifest, so manifest digests may legitimately differ).
func sameContent(t *testing.T, want, got v1.Image) {
	t.Helper()
	wc, _ := want.ConfigName()
	gc, err := got.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	if wc != gc {
		t.Fatalf("config %s, want %s", gc, wc)
	}
	wl, _ := want.Layers()
	gl, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(wl) != len(gl) {
		t.Fatalf("%d layers, want %d", len(gl), len(wl))
	}
	for i := range wl {
		wd, _ := wl[i].Digest()
		gd, _ := gl[i].Digest()
		if wd != gd {
			t.Fatalf("layer %d: %s, want %s", i, gd, wd)
		}
	}
}

func TestParseForms(t *testing.T) {
	dir := t.TempDir()
	tarPath := filepath.Join(dir, "img.tar")
	if err := os.WriteFile(tarPath, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in               string
		kind             kind
		path, tag, dgst  string
		registryHostHTTP bool
	}{
		{in: "oci-layout:/x", kind: kindLayout, path: "/x"},
		{in: "oci-layout:./out:v1", kind: kindLayout, path: "./out", tag: "v1"},
		{in: "oci-layout:out@sha256:" + strings.Repeat("a", 64), kind: kindLayout, path: "out", dgst: "sha256:" + strings.Repeat("a", 64)},
		{in: "docker-archive:" + tarPath, kind: kindArchive, path: tarPath},
		{in: "docker-archive:" + tarPath + ":ghcr.io/a/b:v2", kind: kindArchive, path: tarPath, tag: "ghcr.io/a/b:v2"},
		{in: "docker-archive:new.tar:app:1", kind: kindArchive, path: "new.tar", tag: "app:1"},
		{in: tarPath, kind: kindArchive, path: tarPath},
		{in: "debian:12", kind: kindRegistry},
		{in: "localhost:5000/app:1", kind: kindRegistry, registryHostHTTP: true},
		{in: "127.0.0.1:5000/app:1", kind: kindRegistry, registryHostHTTP: true},
		{in: "[::1]:5000/app:1", kind: kindRegistry, registryHostHTTP: true},
	}
	for _, c := range cases {
		l, err := parse(c.in, Options{}, false)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if l.kind != c.kind || l.path != c.path || l.tag != c.tag {
			t.Errorf("%s: got kind=%v path=%q tag=%q", c.in, l.kind, l.path, l.tag)
		}
		if c.dgst != "" && (l.digest == nil || l.digest.String() != c.dgst) {
			t.Errorf("%s: digest %v", c.in, l.digest)
		}
		if c.kind == kindRegistry && c.registryHostHTTP != (l.ref.Context().Registry.Scheme() == "http") {
			t.Errorf("%s: scheme %s", c.in, l.ref.Context().Registry.Scheme())
		}
	}
	for _, bad := range []string{"", "oci-layout:", "docker-archive:", "./missing", "missing.tar", "oci-layout:x@sha256:zz", "UPPER/Case"} {
		if _, err := parse(bad, Options{}, false); err == nil {
			t.Errorf("%q: parsed without error", bad)
		}
	}
}

func TestLayoutRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "layout")
	a, b, c := testImage(t, "amd64"), testImage(t, "amd64"), testImage(t, "amd64")

	if err := Write(ctx, a, LayoutPrefix+dir+":v1", Options{}); err != nil {
		t.Fatal(err)
	}
	// One image: the bare directory (auto-detected) selects it.
	got, err := Load(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(t, got) != digestOf(t, a) {
		t.Fatalf("loaded %s, want %s", digestOf(t, got), digestOf(t, a))
	}
	if err := Write(ctx, b, LayoutPrefix+dir+":v2", Options{}); err != nil {
		t.Fatal(err)
	}
	// Replacing v1 leaves exactly two entries.
	if err := Write(ctx, c, LayoutPrefix+dir+":v1", Options{}); err != nil {
		t.Fatal(err)
	}
	var im v1.IndexManifest
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &im); err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("index.json has %d entries, want 2: %s", len(im.Manifests), raw)
	}
	for tag, want := range map[string]v1.Image{"v1": c, "v2": b} {
		got, err := Load(ctx, LayoutPrefix+dir+":"+tag, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if digestOf(t, got) != digestOf(t, want) {
			t.Fatalf("tag %s: %s, want %s", tag, digestOf(t, got), digestOf(t, want))
		}
	}
	got, err = Load(ctx, LayoutPrefix+dir+"@"+digestOf(t, b).String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(t, got) != digestOf(t, b) {
		t.Fatal("digest selection returned the wrong image")
	}
	// Two images of the same platform and no selector: an error naming the tags.
	_, err = Load(ctx, dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "v1") || !strings.Contains(err.Error(), "v2") {
		t.Fatalf("ambiguous layout: err = %v", err)
	}
	if _, err := Load(ctx, LayoutPrefix+dir+":nope", Options{}); err == nil || !strings.Contains(err.Error(), `no image tagged "nope"`) {
		t.Fatalf("unknown tag: err = %v", err)
	}
	// No temp files are left behind.
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("leftover temp file %s", p)
		}
		return nil
	})
}

func TestLayoutPlatformSelection(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "layout")
	amd, arm := testImage(t, "amd64"), testImage(t, "arm64")
	for _, img := range []v1.Image{amd, arm} {
		if err := Write(ctx, img, LayoutPrefix+dir, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Load(ctx, LayoutPrefix+dir, Options{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}})
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(t, got) != digestOf(t, arm) {
		t.Fatal("platform selection picked the wrong image")
	}
	_, err = Load(ctx, LayoutPrefix+dir, Options{Platform: &v1.Platform{OS: "linux", Architecture: "s390x"}})
	if err == nil || !strings.Contains(err.Error(), "linux/arm64") {
		t.Fatalf("missing platform: err = %v", err)
	}

	// A nested image index (what multi-platform builds write) is narrowed too.
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	idxDir := filepath.Join(t.TempDir(), "idx")
	if err := writeIndexLayout(idxDir, idx); err != nil {
		t.Fatal(err)
	}
	got, err = Load(ctx, LayoutPrefix+idxDir, Options{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}})
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(t, got) != digestOf(t, arm) {
		t.Fatal("nested index: wrong image")
	}
}

func TestLayoutErrors(t *testing.T) {
	ctx := context.Background()
	empty := t.TempDir()
	_, err := Load(ctx, LayoutPrefix+empty, Options{})
	if err == nil || err.Error() != LayoutPrefix+empty+": no index.json" {
		t.Fatalf("err = %v", err)
	}
	_, err = Load(ctx, "oci-layout:/does/not/exist", Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "oci-layout:/does/not/exist: ") {
		t.Fatalf("err = %v", err)
	}
	// Writing into an unrelated non-empty directory is refused.
	if err := os.WriteFile(filepath.Join(empty, "precious"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(ctx, testImage(t, "amd64"), LayoutPrefix+empty, Options{}); err == nil {
		t.Fatal("wrote a layout into a non-empty directory")
	}
}

func TestArchiveRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	img := testImage(t, "amd64")
	file := filepath.Join(dir, "img.tar")
	if err := Write(ctx, img, ArchivePrefix+file+":example.com/app:v1", Options{}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{ArchivePrefix + file + ":example.com/app:v1", ArchivePrefix + file, file} {
		got, err := Load(ctx, ref, Options{})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		sameContent(t, img, got)
	}
	// Untagged archive.
	file2 := filepath.Join(dir, "untagged.tar")
	if err := Write(ctx, img, file2, Options{}); err != nil {
		t.Fatal(err)
	}
	got, err := Load(ctx, file2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameContent(t, img, got)
	if _, err := Load(ctx, ArchivePrefix+file+":example.com/other:v1", Options{}); err == nil {
		t.Fatal("loaded a tag the archive does not have")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("dir has %d entries (temp files left?)", len(entries))
	}
}

func TestRegistryRoundTrip(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	// 127.0.0.1 is plain HTTP without Options.Insecure.
	ref := u.Host + "/team/app:v1"
	img := testImage(t, "amd64")
	if err := Write(ctx, img, ref, Options{}); err != nil {
		t.Fatal(err)
	}
	got, err := Load(ctx, ref, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(t, got) != digestOf(t, img) {
		t.Fatal("registry round trip changed the digest")
	}
	pinned, err := PinDigest(ref, digestOf(t, img))
	if err != nil {
		t.Fatal(err)
	}
	if pinned != u.Host+"/team/app@"+digestOf(t, img).String() {
		t.Fatalf("PinDigest = %s", pinned)
	}
	if _, err := Load(ctx, pinned, Options{}); err != nil {
		t.Fatal(err)
	}
	_, err = Load(ctx, u.Host+"/team/missing:v1", Options{})
	if err == nil || !strings.HasPrefix(err.Error(), u.Host+"/team/missing:v1: ") {
		t.Fatalf("err = %v", err)
	}
}

func TestBaseName(t *testing.T) {
	for in, want := range map[string]string{
		"debian:12": "index.docker.io/library/debian:12",
		"localhost:5000/base@sha256:" + strings.Repeat("b", 64): "localhost:5000/base",
		"oci-layout:/b:v1": "oci-layout:/b:v1",
		"oci-layout:/b@sha256:" + strings.Repeat("c", 64): "oci-layout:/b",
	} {
		got, err := BaseName(in)
		if err != nil || got != want {
			t.Errorf("BaseName(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// writeIndexLayout writes a layout whose index.json holds one image index,
// the way multi-platform builders do (ggcr's layout writer is fine for a test
// fixture).
func writeIndexLayout(dir string, idx v1.ImageIndex) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendIndex(idx)
}
