package rebase

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/imageref"
)

func TestRun(t *testing.T) {
	ctx := context.Background()
	f := newRebaseFixture(t)
	layout := imageref.LayoutPrefix + filepath.Join(t.TempDir(), "layout") + ":"
	for tag, img := range map[string]v1.Image{"base1": f.base1, "base2": f.base2, "app": f.app} {
		if err := imageref.Write(ctx, img, layout+tag, imageref.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Run(ctx, Request{Image: layout + "app", OldBase: layout + "base1", Onto: layout + "base2", Dest: layout + "rebased"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := imageref.Load(ctx, layout+"rebased", imageref.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Digest: mustDigest(t, out).String(), Output: layout + "rebased", OldBase: layout + "base1", NewBase: layout + "base2"}
	if res != want {
		t.Errorf("Run = %+v, want %+v", res, want)
	}
	direct, err := Image(f.app, f.base1, f.base2, Options{BaseName: layout + "base2"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(layerDigests(t, out), layerDigests(t, direct)) {
		t.Errorf("layers %v, want %v", layerDigests(t, out), layerDigests(t, direct))
	}

	// Without --old-base the annotations name it; the base has none.
	if _, err := Run(ctx, Request{Image: layout + "base1", Onto: layout + "base2", Dest: layout + "x"}); err == nil || !strings.Contains(err.Error(), "(--old-base)") {
		t.Errorf("no old base: %v", err)
	}
	if _, err := Run(ctx, Request{Image: layout + "app", Dest: layout + "x"}); err == nil || err.Error() != "--onto NEWBASE is required" {
		t.Errorf("no --onto: %v", err)
	}
}

func TestResultWriteText(t *testing.T) {
	var out, log strings.Builder
	Result{Digest: "sha256:d", Output: "oci-layout:./out:app", OldBase: "debian:12.8", NewBase: "debian:12.9"}.WriteText(&out, &log, "app:1")
	if out.String() != "sha256:d\n" || log.String() != "rebased app:1 from debian:12.8 onto debian:12.9, wrote oci-layout:./out:app\n" {
		t.Errorf("stdout %q, log %q", out.String(), log.String())
	}
}
