package build

import (
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

func TestPushLogRemembersLayersAcrossOpens(t *testing.T) {
	dir := t.TempDir()
	img, err := random.Image(64, 2)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	d0, _ := layers[0].Digest()

	l := OpenPushLog(dir)
	if got := l.MountFrom("reg.example", d0); got != "" {
		t.Fatalf("empty log: MountFrom = %q", got)
	}
	if err := l.Record("reg.example", "team/app", img); err != nil {
		t.Fatal(err)
	}
	again := OpenPushLog(dir)
	for _, lay := range layers {
		d, _ := lay.Digest()
		if got := again.MountFrom("reg.example", d); got != "team/app" {
			t.Errorf("after reopening: MountFrom(%s) = %q, want team/app", d, got)
		}
	}
	// Per registry: another host has nothing to mount from.
	if got := again.MountFrom("other.example", d0); got != "" {
		t.Errorf("other registry: MountFrom = %q", got)
	}
	// The latest repository wins.
	if err := again.Record("reg.example", "team/other", img); err != nil {
		t.Fatal(err)
	}
	if got := OpenPushLog(dir).MountFrom("reg.example", d0); got != "team/other" {
		t.Errorf("after a second push: MountFrom = %q, want team/other", got)
	}
}

func TestPushLogUnreadableStartsEmpty(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pushed.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := OpenPushLog(dir)
	if got := l.MountFrom("reg.example", v1.Hash{Algorithm: "sha256", Hex: "00"}); got != "" {
		t.Fatalf("MountFrom = %q", got)
	}
	img, _ := random.Image(16, 1)
	if err := l.Record("reg.example", "app", img); err != nil {
		t.Fatalf("recording over a broken log: %v", err)
	}
	if len(OpenPushLog(dir).Layers["reg.example"]) != 1 {
		t.Error("the broken log was not replaced")
	}
}
