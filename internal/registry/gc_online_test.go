package registry_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/internal/registry"
)

// openTestRegistry serves a registry over httptest with the given GC grace.
func openTestRegistry(t *testing.T, grace time.Duration) (*registry.Registry, string, string) {
	t.Helper()
	cfg := registry.DefaultConfig()
	cfg.Root = t.TempDir()
	cfg.Log.Access = false
	cfg.GC.Interval = 0
	cfg.GC.Grace = registry.Duration(grace)
	cfg.UploadExpiry = registry.Duration(grace)
	reg, err := registry.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg.Handler())
	t.Cleanup(func() { srv.Close(); reg.Close() })
	return reg, strings.TrimPrefix(srv.URL, "http://"), cfg.Root
}

func blobPath(root string, h v1.Hash) string {
	return filepath.Join(root, "blobs", h.Algorithm, h.Hex[:2], h.Hex)
}

// age makes every stored blob look written an hour ago.
func age(t *testing.T, root string) {
	t.Helper()
	past := time.Now().Add(-time.Hour)
	filepath.Walk(filepath.Join(root, "blobs"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			os.Chtimes(p, past, past)
		}
		return nil
	})
}

func pushRandom(t *testing.T, ref string) v1.Image {
	t.Helper()
	img, err := random.Image(64<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return img
}

// verifyPull pulls ref and reads every layer; go-containerregistry checks
// each digest while reading.
func verifyPull(ref string, want v1.Hash) error {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return err
	}
	img, err := remote.Image(r)
	if err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	if d != want {
		return fmt.Errorf("%s: digest %s, want %s", ref, d, want)
	}
	if _, err := img.RawConfigFile(); err != nil {
		return fmt.Errorf("%s: config: %w", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: layer: %w", ref, err)
		}
	}
	return nil
}

func TestOnlineGCRacingPushes(t *testing.T) {
	reg, host, root := openTestRegistry(t, 3*time.Second)

	// Garbage: images whose manifests were deleted, blobs aged past grace.
	var garbage []v1.Hash
	for i := 0; i < 3; i++ {
		img := pushRandom(t, fmt.Sprintf("%s/junk:%d", host, i))
		d, _ := img.Digest()
		ref, _ := name.ParseReference(fmt.Sprintf("%s/junk@%s", host, d), name.Insecure)
		if err := remote.Delete(ref); err != nil {
			t.Fatal(err)
		}
		layers, _ := img.Layers()
		for _, l := range layers {
			h, _ := l.Digest()
			garbage = append(garbage, h)
		}
	}
	// A kept image, also aged: GC must not touch it.
	kept := pushRandom(t, host+"/kept:v1")
	keptDigest, _ := kept.Digest()
	age(t, root)

	ctx, cancel := context.WithCancel(context.Background())
	var gcRuns int
	var gcErr error
	gcDone := make(chan struct{})
	go func() {
		defer close(gcDone)
		for ctx.Err() == nil {
			if _, err := reg.CollectGarbage(ctx, false); err != nil && ctx.Err() == nil {
				gcErr = err
				return
			}
			gcRuns++
		}
	}()

	type pushed struct {
		ref    string
		digest v1.Hash
	}
	var mu sync.Mutex
	var all []pushed
	// Pushes go on until the collector, racing them, has removed the
	// garbage (its blobs become collectable once the grace period since
	// they were last touched has passed), and at least 8 per client.
	garbageGone := func() bool {
		for _, h := range garbage {
			if _, err := os.Stat(blobPath(root, h)); err == nil {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; i < 8 || (!garbageGone() && time.Now().Before(deadline)); i++ {
				ref := fmt.Sprintf("%s/race/c%d:%d", host, c, i)
				img := pushRandom(t, ref)
				d, _ := img.Digest()
				mu.Lock()
				all = append(all, pushed{ref, d})
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	cancel()
	<-gcDone
	if gcErr != nil {
		t.Fatalf("gc: %v", gcErr)
	}
	if gcRuns < 2 {
		t.Fatalf("gc ran %d times during the pushes; the test did not race anything", gcRuns)
	}
	for _, p := range append(all, pushed{host + "/kept:v1", keptDigest}) {
		if err := verifyPull(p.ref, p.digest); err != nil {
			t.Errorf("after racing GC: %v", err)
		}
	}
	for _, h := range garbage {
		if _, err := os.Stat(blobPath(root, h)); !os.IsNotExist(err) {
			t.Errorf("garbage blob %s still stored (err=%v)", h, err)
		}
	}
	t.Logf("%d pushes raced %d collections", len(all), gcRuns)
}

func TestGCKeepsBlobAClientWasToldExists(t *testing.T) {
	const grace = 1500 * time.Millisecond
	reg, host, root := openTestRegistry(t, grace)
	img := pushRandom(t, host+"/app:v1")
	layers, _ := img.Layers()
	relied, _ := layers[0].Digest()
	d, _ := img.Digest()
	ref, _ := name.ParseReference(fmt.Sprintf("%s/app@%s", host, d), name.Insecure)
	if err := remote.Delete(ref); err != nil {
		t.Fatal(err)
	}
	age(t, root)
	// Let the registry's own start-up protection (grace after start) pass.
	time.Sleep(grace + 100*time.Millisecond)

	// A client checks the blob exists (and so will skip uploading it)...
	resp, err := http.Head(fmt.Sprintf("http://%s/v2/app/blobs/%s", host, relied))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("HEAD: %v %v", resp, err)
	}
	// ...a collection runs before its manifest arrives...
	rep, err := reg.CollectGarbage(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range rep.Blobs {
		if b.String() == relied.String() {
			t.Fatalf("GC deleted %s right after a client was told it exists", relied)
		}
	}
	if len(rep.Blobs) == 0 {
		t.Fatalf("GC deleted nothing; the other unreferenced layers should have gone")
	}
	if _, err := os.Stat(blobPath(root, relied)); err != nil {
		t.Fatalf("relied-on blob gone: %v", err)
	}
	// ...and the push that relied on it completes.
	size, _ := layers[0].Size()
	m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}`, relied, size, relied, size)
	req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("http://%s/v2/app/manifests/v2", host), strings.NewReader(m))
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("manifest PUT relying on the blob: %v %v", resp, err)
	}
}

func TestGCDryRunDeletesNothing(t *testing.T) {
	reg, host, root := openTestRegistry(t, 0)
	img := pushRandom(t, host+"/app:v1")
	d, _ := img.Digest()
	ref, _ := name.ParseReference(fmt.Sprintf("%s/app@%s", host, d), name.Insecure)
	remote.Delete(ref)
	age(t, root)
	rep, err := reg.CollectGarbage(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.DryRun || len(rep.Blobs) != 4 { // config + 3 layers
		t.Fatalf("dry run report: %+v, want 4 blobs", rep)
	}
	for _, b := range rep.Blobs {
		h, _ := v1.NewHash(b.String())
		if _, err := os.Stat(blobPath(root, h)); err != nil {
			t.Fatalf("dry run deleted %s", b)
		}
	}
	rep, err = reg.CollectGarbage(context.Background(), false)
	if err != nil || len(rep.Blobs) != 4 {
		t.Fatalf("real run: %+v %v", rep, err)
	}
}
