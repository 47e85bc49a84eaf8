package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/spec"
)

// buildNoDebs builds every image of a berth.yaml without debs layers the
// way `berth build` does (LockFirst) and returns
// whether BuildTo said it wrote the lock.
func buildNoDebs(t *testing.T, dir string) bool {
	t.Helper()
	t.Setenv("BERTH_CACHE", t.TempDir())
	f, err := spec.Load(filepath.Join(dir, "berth.yaml"), spec.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.LockFirst(ctx); err != nil {
		t.Fatal(err)
	}
	wrote, err := b.BuildTo(ctx, f.ImageOrder, "", Output{OCILayout: filepath.Join(t.TempDir(), "out")}, func(Written) {})
	if err != nil {
		t.Fatal(err)
	}
	return wrote
}

func writeMemoSpec(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string]string{"berth.yaml": memoSpec, "index.html": "<p>hi</p>\n", "app.conf": "x=1\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// An image without debs layers has nothing to pin: building it used to
// write an empty berth.lock ({"lockVersion":1,"layers":[]}) next to the file.
func TestBuildWithoutDebsWritesNoLock(t *testing.T) {
	dir := writeMemoSpec(t)
	if buildNoDebs(t, dir) {
		t.Error("BuildTo says it wrote the lock")
	}
	if _, err := os.Stat(filepath.Join(dir, "berth.lock")); !os.IsNotExist(err) {
		t.Errorf("berth.lock exists after building images without debs (err %v)", err)
	}
}

// An existing lock is left exactly as it was (bytes and modification time)
// by a build that resolves nothing.
func TestBuildWithoutDebsLeavesExistingLock(t *testing.T) {
	dir := writeMemoSpec(t)
	path := filepath.Join(dir, "berth.lock")
	old := []byte("{\n  \"lockVersion\": 1,\n  \"layers\": []\n}\n")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	past := time.Unix(1_000_000_000, 0)
	if err := os.Chtimes(path, past, past); err != nil {
		t.Fatal(err)
	}
	if buildNoDebs(t, dir) {
		t.Error("BuildTo says it wrote the lock")
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != string(old) {
		t.Errorf("berth.lock changed: %q %v", got, err)
	}
	if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(past) {
		t.Errorf("berth.lock rewritten (mtime %v, err %v)", fi.ModTime(), err)
	}
}

// LockFirst makes a lock (of every image) only when there is none; an
// existing one is kept as it is, not resolved again.
func TestLockFirst(t *testing.T) {
	dir := writeMemoSpec(t)
	t.Setenv("BERTH_CACHE", t.TempDir())
	f, err := spec.Load(filepath.Join(dir, "berth.yaml"), spec.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.LockFirst(context.Background()); err != nil || b.Lock == nil || b.LockChanged() {
		t.Fatalf("no lock: %v, lock %v, changed %v", err, b.Lock, b.LockChanged())
	}
	old := &Lockfile{Version: LockVersion, Layers: []LockLayer{{Image: "kept"}}}
	b.Lock = old
	if err := b.LockFirst(context.Background()); err != nil || b.Lock != old || len(b.Lock.Layers) != 1 {
		t.Fatalf("existing lock replaced: %v %+v", err, b.Lock)
	}
}

// Relock (berth lock) writes the lock even when it pins nothing, and says
// so; an unknown image is an error naming it, and writes nothing.
func TestRelock(t *testing.T) {
	dir := writeMemoSpec(t)
	t.Setenv("BERTH_CACHE", t.TempDir())
	f, err := spec.Load(filepath.Join(dir, "berth.yaml"), spec.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := b.Relock(context.Background(), []string{"nosuch"}, &out); err == nil || !strings.Contains(err.Error(), `"nosuch"`) || out.Len() != 0 {
		t.Errorf("unknown image: %v, said %q", err, out.String())
	}
	if _, err := os.Stat(b.LockPath); !os.IsNotExist(err) {
		t.Errorf("lock written after an error (%v)", err)
	}
	if err := b.Relock(context.Background(), nil, &out); err != nil {
		t.Fatal(err)
	}
	if want := "wrote " + b.LockPath + ": 0 layers, 0 packages\n"; out.String() != want {
		t.Errorf("said %q, want %q", out.String(), want)
	}
	if _, err := os.Stat(b.LockPath); err != nil {
		t.Errorf("no lock written: %v", err)
	}
}
