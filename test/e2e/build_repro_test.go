package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestBuildReproducible builds examples/goapp from two copies in different
// directories, each with its own empty cache and no berth.lock, one after
// the other: every image digest and the written berth.lock must be the same.
func TestBuildReproducible(t *testing.T) {
	t.Parallel()
	type run struct {
		digests map[string]string // image[/variant] -> digest
		lock    string
	}
	build := func(t *testing.T, dir string) run {
		if err := os.Remove(filepath.Join(dir, "berth.lock")); err != nil {
			t.Fatalf("the copy of examples/goapp has no berth.lock to remove: %v", err)
		}
		env := newBuildEnv(t, true)
		r := run{digests: map[string]string{}}
		all, took := env.build(t, dir)
		t.Logf("cold build of base + app (debs resolved, downloaded, unpacked; Go built): %v", took.Round(time.Millisecond))
		dev, _ := env.build1(t, dir, "app", "--variant", "dev")
		for _, img := range append(all, dev) {
			key := img.Image
			if img.Variant != "" {
				key += "/" + img.Variant
			}
			for _, l := range img.Layers {
				if l.Cached && img.Variant == "" {
					t.Errorf("cold cache: %s/%s reported cached", key, l.Name)
				}
			}
			r.digests[key] = img.Digest
		}
		r.lock = readFileString(t, filepath.Join(dir, "berth.lock"))
		return r
	}

	// Different names and depths: nothing of the path may leak into layers.
	a := build(t, copyExample(t, "goapp"))
	deeper := filepath.Join(t.TempDir(), "some", "other", "place")
	if err := os.MkdirAll(deeper, 0o755); err != nil {
		t.Fatal(err)
	}
	src := copyExample(t, "goapp")
	dirB := filepath.Join(deeper, "goapp-copy")
	if err := os.Rename(src, dirB); err != nil {
		t.Fatal(err)
	}
	b := build(t, dirB)

	if len(a.digests) != 3 {
		t.Fatalf("built %v, want base, app and app/dev", a.digests)
	}
	for k, d := range a.digests {
		if b.digests[k] != d {
			t.Errorf("%s: digest %s in the first directory, %s in the second", k, d, b.digests[k])
		}
	}
	if a.lock != b.lock {
		t.Errorf("berth.lock differs between the two builds:\nfirst:\n%s\nsecond:\n%s", truncate([]byte(a.lock)), truncate([]byte(b.lock)))
	}
}
