package release

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/spec"
)

func loadScratchSpec(t *testing.T) *spec.File {
	t.Helper()
	t.Setenv("BERTH_CACHE", t.TempDir())
	dir := t.TempDir()
	yaml := "images:\n  base:\n    from: scratch\n    platform: linux/amd64\n    layers:\n      - name: dirs\n        paths:\n          - {path: /data, type: directory}\n"
	if err := os.WriteFile(filepath.Join(dir, "berth.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := spec.Load(filepath.Join(dir, "berth.yaml"), spec.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestBuild: berth build's flow: every image by default, the report on
// Stdout, Signing asked once with the build's registry options; a key
// without --push is refused before anything is signed or built.
func TestBuild(t *testing.T) {
	f := loadScratchSpec(t)
	signings := 0
	signing := func(imageref.Options) (policy.Signer, Attester, error) {
		signings++
		return nil, nil, nil
	}
	var out strings.Builder
	layout := filepath.Join(t.TempDir(), "out")
	r := BuildRequest{File: f, Out: build.Output{OCILayout: layout}, Report: build.Report{Quiet: true}, Signing: signing, Stdout: &out}
	if err := Build(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if signings != 1 || !strings.HasPrefix(out.String(), "sha256:") || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("signings %d, report %q; want 1 and the one image's digest", signings, out.String())
	}
	if _, err := os.Stat(filepath.Join(layout, "index.json")); err != nil {
		t.Errorf("no OCI layout written: %v", err)
	}
	r.Signed, out = true, strings.Builder{}
	if err := Build(context.Background(), r); err == nil || !strings.Contains(err.Error(), "give --push") || signings != 1 {
		t.Errorf("--key without --push: %v (signings %d)", err, signings)
	}
	boom := errors.New("no password")
	r.Signed, r.Out.Push, r.Signing = false, "", func(imageref.Options) (policy.Signer, Attester, error) { return nil, nil, boom }
	if err := Build(context.Background(), r); !errors.Is(err, boom) {
		t.Errorf("signing error: %v, want %v", err, boom)
	}
}
