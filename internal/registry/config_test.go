package registry_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/registry"
)

func TestLoadConfigAllowSparseManifests(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := registry.LoadConfig(write("default.yaml", "root: /srv/reg\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AllowSparseManifests {
		t.Fatal("allowSparseManifests is on without being set")
	}
	cfg, err = registry.LoadConfig(write("on.yaml", "root: /srv/reg\nallowSparseManifests: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.AllowSparseManifests {
		t.Fatal("allowSparseManifests: true did not turn it on")
	}
	p := write("typo.yaml", "root: /srv/reg\nallowSparseManifest: true\n")
	if _, err := registry.LoadConfig(p); err == nil || !strings.Contains(err.Error(), "allowSparseManifest") || !strings.Contains(err.Error(), p) {
		t.Fatalf("a misspelt allowSparseManifests: error %v, want one naming the field and %s", err, p)
	}
}
