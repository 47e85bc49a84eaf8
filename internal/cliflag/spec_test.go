package cliflag

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestSpecLoad: -f, --set and --dockerfile choose what is read; bad --set
// and `berth config` output are refused naming the flag or the file.
func TestSpecLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "berth.yaml")
	os.WriteFile(file, []byte("vars:\n  TAG: dev\nimages: {}\n"), 0o644)
	var f Spec
	fl := pflag.NewFlagSet("x", pflag.ContinueOnError)
	f.Add(fl)
	f.AddDockerfile(fl)
	if err := fl.Parse([]string{"-f", file, "--set", "TAG=1"}); err != nil {
		t.Fatal(err)
	}
	if sf, err := f.Load(); err != nil || sf == nil {
		t.Fatalf("Load: %v", err)
	}
	f.Set = []string{"=1"}
	if _, err := f.Load(); err == nil || !strings.Contains(err.Error(), "--set") {
		t.Errorf("--set =1: %v", err)
	}
	f.Set = nil

	printed := filepath.Join(dir, "printed.yaml")
	os.WriteFile(printed, []byte("dir: /x\nfiles: [/x/compose.yaml]\nservices:\n  - name: web\n"), 0o644)
	f.File = printed
	if _, err := f.Load(); err == nil || !strings.Contains(err.Error(), "berth config") || !strings.Contains(err.Error(), "/x/compose.yaml") {
		t.Errorf("berth config output: %v", err)
	}

	df := filepath.Join(dir, "Dockerfile")
	os.WriteFile(df, []byte("FROM scratch\nENV A=1\n"), 0o644)
	f.Dockerfile = df
	sf, err := f.Load()
	if err != nil || len(sf.ImageOrder) != 1 || sf.ImageOrder[0] != "image" {
		t.Fatalf("--dockerfile: %+v, %v", sf, err)
	}
}
