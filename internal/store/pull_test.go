package store

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/progress"
)

// A pull reports each layer's bytes to the progress.Func in its context,
// and a layer the store has as already there.
func TestPullReportsLayerProgress(t *testing.T) {
	needRoot(t)
	s := openStore(t)
	img := baseAndTop(t)
	dir := filepath.Join(t.TempDir(), "layout")
	ref := imageref.LayoutPrefix + dir + ":v1"
	if err := imageref.Write(context.Background(), img, ref, imageref.Options{}); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	pull := func() map[string]progress.Event {
		t.Helper()
		var mu sync.Mutex
		finals := map[string]progress.Event{}
		ctx := progress.NewContext(context.Background(), func(e progress.Event) {
			mu.Lock()
			defer mu.Unlock()
			if e.Action != "pull" || e.Ref != ref {
				t.Errorf("event %+v", e)
			}
			if e.Final() {
				finals[e.Digest] = e
			}
		})
		if _, err := s.Pull(ctx, ref, imageref.Options{}); err != nil {
			t.Fatal(err)
		}
		if len(finals) != len(layers) {
			t.Fatalf("final progress for %d blobs, want the %d layers: %v", len(finals), len(layers), finals)
		}
		return finals
	}
	first := pull()
	for _, l := range layers {
		d, _ := l.Digest()
		size, _ := l.Size()
		if e := first[d.String()]; e.Status != progress.Done || e.Bytes != size || e.Total != size {
			t.Errorf("first pull, layer %s: %+v, want done with %d bytes", d, e, size)
		}
	}
	for d, e := range pull() {
		if e.Status != progress.Exists {
			t.Errorf("second pull, layer %s: %s, want exists", d, e.Status)
		}
	}
}
