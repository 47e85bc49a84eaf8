package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/build/cache"
	"github.com/berth-dev/berth/internal/sbom"
	"github.com/berth-dev/berth/internal/spec"
)

const evidenceSpec = `images:
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
`

// TestBuildEvidenceOfARealBuild: the SBOMs list the files layer's file
// with its digest, and the provenance names berth.yaml by digest and the
// source key of every layer of the image and of its berth.yaml base.
func TestBuildEvidenceOfARealBuild(t *testing.T) {
	dir, cacheDir := t.TempDir(), t.TempDir()
	for name, body := range map[string]string{"berth.yaml": evidenceSpec, "index.html": "<h1>hi</h1>\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := spec.Load(filepath.Join(dir, "berth.yaml"), spec.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.Open(filepath.Join(cacheDir, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	b := &build.Builder{File: f, Cache: c, CacheDir: cacheDir, Epoch: time.Unix(1700000000, 0).UTC()}
	ctx := context.Background()
	r, err := b.Build(ctx, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	preds, err := (&SpecBuilder{B: b, Version: "9.9"}).Evidence(ctx, "app", "", r.Image)
	if err != nil {
		t.Fatal(err)
	}
	if len(preds) != 3 || preds[0].Type != sbom.SPDXPredicateType || preds[1].Type != sbom.CycloneDXPredicateType || preds[2].Type != sbom.ProvenancePredicateType {
		t.Fatalf("predicates %v", preds)
	}
	sum := sha256.Sum256([]byte("<h1>hi</h1>\n"))
	if !strings.Contains(string(preds[0].Body), `"fileName": "./srv/index.html"`) || !strings.Contains(string(preds[1].Body), hex.EncodeToString(sum[:])) {
		t.Errorf("SBOMs lack /srv/index.html and its digest:\n%s", preds[0].Body)
	}
	var prov struct {
		BuildDefinition struct {
			ExternalParameters struct {
				Config sbom.Dependency
			}
			ResolvedDependencies []sbom.Dependency
		}
	}
	if err := json.Unmarshal(preds[2].Body, &prov); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "berth.yaml"))
	cfg := sha256.Sum256(raw)
	if prov.BuildDefinition.ExternalParameters.Config.Digest["sha256"] != hex.EncodeToString(cfg[:]) {
		t.Errorf("config %+v", prov.BuildDefinition.ExternalParameters.Config)
	}
	base, _ := b.Build(ctx, "base", "")
	want := map[string]string{"berth:layer/app/site": r.Layers[0].SourceKey, "berth:layer/base/dirs": base.Layers[0].SourceKey}
	got := map[string]string{}
	for _, d := range prov.BuildDefinition.ResolvedDependencies {
		got[d.URI] = d.Digest["sha256"]
	}
	for uri, key := range want {
		if key == "" || got[uri] != key {
			t.Errorf("dependency %s = %q, want the layer's source key %q (all: %v)", uri, got[uri], key, got)
		}
	}
	// Again: the same bytes, the inventory from the cache by digest.
	again, err := (&SpecBuilder{B: b, Version: "9.9"}).Evidence(ctx, "app", "", r.Image)
	if err != nil {
		t.Fatal(err)
	}
	for i := range preds {
		if string(again[i].Body) != string(preds[i].Body) {
			t.Errorf("predicate %s differs on the second call", preds[i].Type)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(cacheDir, "sbom")); len(entries) != 1 {
		t.Errorf("sbom cache holds %d entries, want 1", len(entries))
	}
}

// TestNewSpecBuilder: the CLI's builder prints a line per build event on
// progress and names berth's version in the provenance.
func TestNewSpecBuilder(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BERTH_CACHE", t.TempDir())
	for name, body := range map[string]string{"berth.yaml": evidenceSpec, "index.html": "<h1>hi</h1>\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := spec.Load(filepath.Join(dir, "berth.yaml"), spec.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	var progress strings.Builder
	sb, err := NewSpecBuilder(f, &progress, "9.9")
	if err != nil || sb.Version != "9.9" {
		t.Fatalf("NewSpecBuilder: %+v, %v", sb, err)
	}
	if _, err := sb.Build(context.Background(), "app", ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "app/site: ") {
		t.Errorf("no progress lines: %q", progress.String())
	}
}
