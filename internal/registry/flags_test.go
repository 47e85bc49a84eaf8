package registry_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/registry"
)

// TestFlagsResolve: only the flags given replace the file's values; the
// ones not given leave the file's, even when their Go value differs.
func TestFlagsResolve(t *testing.T) {
	file := filepath.Join(t.TempDir(), "berth-registry.yaml")
	yaml := "addr: 127.0.0.1:6000\nroot: /srv/reg\nallowSparseManifests: true\ngc:\n  grace: 3h\n  deleteUntagged: true\n"
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	f := registry.Flags{ConfigFile: file, Root: "/data", Addr: "127.0.0.1:7000", Grace: time.Minute,
		Console: registry.ConsoleConfig{Addr: "127.0.0.1:9091"}}
	none := func(string) bool { return false }
	cfg, err := f.Resolve(none, nil)
	if err != nil || cfg.Root != "/srv/reg" || cfg.Addr != "127.0.0.1:6000" || !cfg.AllowSparseManifests ||
		time.Duration(cfg.GC.Grace) != 3*time.Hour || !cfg.GC.DeleteUntagged || cfg.Console.Addr != "127.0.0.1:9091" {
		t.Errorf("no flags given: %+v, %v; want the file's values (and the console)", cfg, err)
	}
	all := func(string) bool { return true }
	cfg, err = f.Resolve(all, nil)
	if err != nil || cfg.Root != "/data" || cfg.Addr != "127.0.0.1:7000" || cfg.AllowSparseManifests ||
		time.Duration(cfg.GC.Grace) != time.Minute || time.Duration(cfg.UploadExpiry) != time.Minute || cfg.GC.DeleteUntagged {
		t.Errorf("every flag given: %+v, %v; want the flags' values", cfg, err)
	}
	f.Root = ""
	if _, err := f.Resolve(all, nil); err == nil {
		t.Error("--root \"\" accepted: the flags must be validated")
	}
}
