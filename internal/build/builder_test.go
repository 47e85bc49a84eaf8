package build

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/build/cache"
	"github.com/berth-dev/berth/internal/spec"
)

const memoSpec = `images:
  base:
    from: scratch
    platform: linux/amd64
    layers:
      - name: dirs
        paths:
          - {path: /data, type: directory}
  app:
    from: base
    layers:
      - name: site
        files:
          - {src: index.html, dest: /srv/index.html}
  other:
    from: base
    layers:
      - name: conf
        files:
          - {src: app.conf, dest: /etc/app.conf}
`

// newMemoBuilder loads memoSpec from dir with a cache in cacheDir and
// records every progress event.
func newMemoBuilder(t *testing.T, dir, cacheDir string, events *[]Event) *Builder {
	t.Helper()
	f, err := spec.Load(filepath.Join(dir, "berth.yaml"), spec.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.Open(cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	return &Builder{File: f, Cache: c, CacheDir: cacheDir, Epoch: time.Unix(0, 0).UTC(),
		Progress: func(e Event) { *events = append(*events, e) }}
}

// An image of the file used as a base is built once per Builder, however
// many images use it; a second Builder over the same cache builds nothing.
func TestBuildMemoisesImagesAndCachesLayers(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"berth.yaml": memoSpec, "index.html": "<h1>hi</h1>\n", "app.conf": "x=1\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cacheDir := t.TempDir()
	ctx := context.Background()

	var events []Event
	b := newMemoBuilder(t, dir, cacheDir, &events)
	app, err := b.Build(ctx, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.Build(ctx, "other", "")
	if err != nil {
		t.Fatal(err)
	}
	base, err := b.Build(ctx, "base", "")
	if err != nil {
		t.Fatal(err)
	}
	perLayer := map[string]int{}
	for _, e := range events {
		perLayer[e.Image+"/"+e.Layer]++
		if e.Status != "built" {
			t.Errorf("cold cache: %s/%s %s", e.Image, e.Layer, e.Status)
		}
	}
	want := map[string]int{"base/dirs": 1, "app/site": 1, "other/conf": 1}
	if len(perLayer) != len(want) {
		t.Errorf("layer events %v, want %v", perLayer, want)
	}
	for k, n := range want {
		if perLayer[k] != n {
			t.Errorf("%s built %d times, want %d (events %v)", k, perLayer[k], n, perLayer)
		}
	}
	if again, _ := b.Build(ctx, "app", ""); again != app {
		t.Error("building app again did not return the memoised result")
	}
	if app.Base != "base" || other.Base != "base" {
		t.Errorf("bases %q, %q", app.Base, other.Base)
	}
	m, err := app.Image.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != 2 || m.Annotations["org.opencontainers.image.base.digest"] != base.Digest {
		t.Errorf("app manifest: %d layers, annotations %v; base %s", len(m.Layers), m.Annotations, base.Digest)
	}

	// A new Builder (a new `berth build`) over the same cache: every layer
	// comes from the cache and every digest is the same.
	events = nil
	b2 := newMemoBuilder(t, dir, cacheDir, &events)
	app2, err := b2.Build(ctx, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	if app2.Digest != app.Digest {
		t.Errorf("rebuild: digest %s, first build %s", app2.Digest, app.Digest)
	}
	for _, e := range events {
		if e.Status != "cached" {
			t.Errorf("warm cache: %s/%s %s", e.Image, e.Layer, e.Status)
		}
	}
	for _, l := range app2.Layers {
		if !l.Cached {
			t.Errorf("warm cache: layer %s not reported cached", l.Name)
		}
	}

	// Changing a file rebuilds only the layer that reads it.
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>changed</h1>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	events = nil
	b3 := newMemoBuilder(t, dir, cacheDir, &events)
	app3, err := b3.Build(ctx, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, e := range events {
		status[e.Image+"/"+e.Layer] = e.Status
	}
	if status["base/dirs"] != "cached" || status["app/site"] != "built" {
		t.Errorf("after editing index.html: %v", status)
	}
	if app3.Digest == app.Digest {
		t.Error("a changed file kept the image digest")
	}
}
