package imageref

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/internal/registry"
)

// TestWriteMountsKnownLayers pushes an image to one repository of berth's
// registry, then to another with MountFrom naming the first: every layer
// must arrive as a cross-repository mount, none as an upload. Progress
// says so: every layer done the first time, mounted the second.
func TestWriteMountsKnownLayers(t *testing.T) {
	cfg := registry.DefaultConfig()
	cfg.Root = t.TempDir()
	cfg.Log.Access = false
	reg, err := registry.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	var mu sync.Mutex
	var mounts, uploads int
	h := reg.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v2/two/") {
			mu.Lock()
			if r.URL.Query().Get("mount") != "" {
				mounts++
			} else {
				uploads++
			}
			mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	img, _ := random.Image(2048, 3)
	ctx := context.Background()
	finals := map[string]string{}
	report := func(e progress.Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Final() {
			finals[e.Digest] += e.Status
		}
	}
	if err := Write(ctx, img, host+"/one/app:v1", Options{Progress: report}); err != nil {
		t.Fatal(err)
	}
	checkFinals := func(want string) {
		t.Helper()
		if len(finals) != 3 {
			t.Errorf("progress of %d blobs, want the 3 layers: %v", len(finals), finals)
		}
		for d, s := range finals {
			if s != want {
				t.Errorf("layer %s: progress %q, want %q", d, s, want)
			}
		}
		clear(finals)
	}
	checkFinals(progress.Done)
	o := Options{Progress: report, MountFrom: func(registry string, l v1.Hash) string {
		if registry != host {
			t.Errorf("MountFrom asked for registry %q, want %q", registry, host)
		}
		return "one/app"
	}}
	if err := Write(ctx, img, host+"/two/app:v1", o); err != nil {
		t.Fatal(err)
	}
	checkFinals(progress.Mounted)
	if mounts != 3 {
		t.Fatalf("%d layer mounts, want 3 (uploads: %d)", mounts, uploads)
	}
	if uploads > 1 {
		t.Fatalf("%d uploads; only the config may be uploaded", uploads)
	}
	if _, err := Load(ctx, host+"/two/app:v1", Options{}); err != nil {
		t.Fatalf("pull after mount: %v", err)
	}
}
