package imageref

import (
	"path/filepath"
	"testing"
)

func TestIsLocal(t *testing.T) {
	dir := t.TempDir()
	for ref, want := range map[string]bool{
		dir:                               true,
		filepath.Join(dir, "missing.tar"): false,
		LayoutPrefix + "./out:app":        true,
		ArchivePrefix + "./app.tar":       true,
		"127.0.0.1:5000/app:1.0":          false,
	} {
		if got := IsLocal(ref); got != want {
			t.Errorf("IsLocal(%q) = %v, want %v", ref, got, want)
		}
	}
}
