package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadIgnoreStaysInContext: a .dockerignore symlinked to a host file was
// read as patterns, and pattern errors echo the lines.
func TestReadIgnoreStaysInContext(t *testing.T) {
	ctxDir, outside := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(outside, "shadow"), []byte("root:$6$secret:\n"), 0o600)
	os.Symlink(filepath.Join(outside, "shadow"), filepath.Join(ctxDir, ".dockerignore"))
	lines, err := readIgnore(ctxDir)
	if err == nil || !strings.Contains(err.Error(), ".dockerignore") || !strings.Contains(err.Error(), "outside the build context") {
		t.Fatalf("lines %q, err = %v", lines, err)
	}

	os.WriteFile(filepath.Join(ctxDir, ".berthignore"), []byte("# c\n*.log\n\n"), 0o644)
	lines, err = readIgnore(ctxDir)
	if err != nil || len(lines) != 1 || lines[0] != "*.log" {
		t.Fatalf("lines %q, err = %v", lines, err)
	}
	if lines, err := readIgnore(t.TempDir()); err != nil || lines != nil {
		t.Fatalf("no ignore file: %q, %v", lines, err)
	}
}
