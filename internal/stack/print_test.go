package stack

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Load refuses Print's output, naming the files to load instead, rather
// than letting compose-go say "services must be a mapping".
func TestLoadRefusesPrintedOutput(t *testing.T) {
	dir := t.TempDir()
	compose := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(compose, []byte("name: demo\nservices:\n  web:\n    image: web:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _, err := Load(context.Background(), LoadOptions{Files: []string{compose}})
	if err != nil {
		t.Fatal(err)
	}
	for _, asJSON := range []bool{false, true} {
		var b strings.Builder
		if err := Print(&b, st, asJSON); err != nil {
			t.Fatal(err)
		}
		printed := filepath.Join(dir, "printed.yaml")
		if err := os.WriteFile(printed, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := Load(context.Background(), LoadOptions{Files: []string{printed}})
		if err == nil || !strings.Contains(err.Error(), printed+" is the output of `berth config`") || !strings.Contains(err.Error(), "-f "+compose) {
			t.Errorf("Load of Print's output (JSON %v): %v", asJSON, err)
		}
		if err := RefusePrinted(compose, printed); err == nil {
			t.Errorf("RefusePrinted let the printed file through (JSON %v)", asJSON)
		}
	}
	if err := RefusePrinted(compose, filepath.Join(dir, "missing.yaml")); err != nil {
		t.Errorf("RefusePrinted(compose file, missing file) = %v", err)
	}
}
