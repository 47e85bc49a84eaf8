package promote

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/internal/registry"
)

// testRegistry is a real berth registry behind an HTTP server, with a
// handler in front that records the blob uploads it receives.
type testRegistry struct {
	host string // 127.0.0.1:PORT
	mu   sync.Mutex
	// sessions counts upload sessions started (POST .../blobs/uploads/);
	// uploaded lists the digests of uploads committed (PUT ...?digest=).
	sessions int
	uploaded []string
	// beforeHead, when set, runs before a manifest HEAD is served.
	beforeHead func(r *http.Request)
}

func startRegistry(t *testing.T) *testRegistry {
	t.Helper()
	cfg := registry.DefaultConfig()
	cfg.Root = t.TempDir()
	cfg.Log.Access = false
	cfg.GC.Interval = 0
	reg, err := registry.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	tr := &testRegistry{}
	h := reg.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.mu.Lock()
		hook := tr.beforeHead
		if strings.Contains(r.URL.Path, "/blobs/uploads/") {
			switch r.Method {
			case http.MethodPost:
				tr.sessions++
			case http.MethodPut:
				if d := r.URL.Query().Get("digest"); d != "" {
					tr.uploaded = append(tr.uploaded, d)
				}
			}
		}
		tr.mu.Unlock()
		if hook != nil && r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/") {
			hook(r)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		if err := reg.Close(); err != nil {
			t.Errorf("closing the registry: %v", err)
		}
	})
	tr.host = strings.TrimPrefix(srv.URL, "http://")
	return tr
}

// reset forgets the uploads seen so far and returns them.
func (r *testRegistry) reset() (sessions int, uploaded []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sessions, uploaded = r.sessions, r.uploaded
	r.sessions, r.uploaded = 0, nil
	return sessions, uploaded
}

func ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func push(t *testing.T, img v1.Image, to string) {
	t.Helper()
	if err := remote.Write(ref(t, to), img, remote.WithContext(context.Background())); err != nil {
		t.Fatalf("push %s: %v", to, err)
	}
}

func randomLayer(t *testing.T) v1.Layer {
	t.Helper()
	l, err := random.Layer(64<<10, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// ociImage is an OCI image of the given layers (random configs would make
// every image's config unique anyway; the layers are what is shared).
func ociImage(t *testing.T, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON)
	return img
}

func blobDigest(t *testing.T, img v1.Image, blob func(v1.Image) (v1.Hash, error)) string {
	t.Helper()
	h, err := blob(img)
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func configDigest(img v1.Image) (v1.Hash, error) { return img.ConfigName() }

func layerDigest(i int) func(v1.Image) (v1.Hash, error) {
	return func(img v1.Image) (v1.Hash, error) {
		ls, err := img.Layers()
		if err != nil {
			return v1.Hash{}, err
		}
		return ls[i].Digest()
	}
}

func TestPromoteCopiesOnlyMissingBlobs(t *testing.T) {
	ctx := context.Background()
	staging, prod := startRegistry(t), startRegistry(t)
	base, app, lib, old := randomLayer(t), randomLayer(t), randomLayer(t), randomLayer(t)

	img := ociImage(t, base, lib, app)
	push(t, img, staging.host+"/example/app:1.2.0")
	// prod already runs an earlier release sharing the base and lib layers.
	push(t, ociImage(t, base, lib, old), prod.host+"/example/app:1.1.0")
	prod.reset()

	src := staging.host + "/example/app:1.2.0"
	dst := prod.host + "/example/app:1.2.0"
	when := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	prog := &progressLog{}
	res, err := Promote(ctx, Options{Src: src, Dst: dst, Record: Provenance{FromEnv: "staging", ToEnv: "prod", Time: when, Host: "ci-1"}, Progress: prog.report})
	if err != nil {
		t.Fatal(err)
	}
	// Progress per layer: the missing one copied, the shared ones there.
	prog.check(t, map[string]string{
		blobDigest(t, img, layerDigest(0)): progress.Exists, blobDigest(t, img, layerDigest(1)): progress.Exists,
		blobDigest(t, img, layerDigest(2)): progress.Done,
	})
	want, _ := img.Digest()
	if res.Digest != want.String() || res.Src != staging.host+"/example/app@"+want.String() || res.Dst != dst {
		t.Errorf("result %+v, want digest %s", res, want)
	}
	missing := []string{blobDigest(t, img, configDigest), blobDigest(t, img, layerDigest(2))}
	appSize, _ := app.Size()
	cfgRaw, _ := img.RawConfigFile()
	if res.BlobsCopied != 2 || res.BlobsSkipped != 2 || res.BlobsMounted != 0 || res.BytesCopied != appSize+int64(len(cfgRaw)) {
		t.Errorf("counts %+v; want 2 copied (%d bytes), 2 skipped", res, appSize+int64(len(cfgRaw)))
	}

	// The registry saw uploads of exactly the missing blobs, plus the
	// promotion record's two (its empty config and its JSON).
	sessions, uploaded := prod.reset()
	image := map[string]bool{}
	for _, d := range uploaded {
		if d == missing[0] || d == missing[1] {
			image[d] = true
		} else if d == blobDigest(t, img, layerDigest(0)) || d == blobDigest(t, img, layerDigest(1)) {
			t.Errorf("shared layer %s uploaded again", d)
		}
	}
	if len(image) != 2 || len(uploaded) != 4 || sessions != 4 {
		t.Errorf("uploads %v (%d sessions); want the missing %v + 2 record blobs", uploaded, sessions, missing)
	}

	// Same digest, same bytes, under the tag.
	got, err := remote.Get(ref(t, dst))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := img.RawManifest()
	if got.Digest != want || !bytes.Equal(got.Manifest, raw) {
		t.Errorf("prod has %s, want %s", got.Digest, want)
	}
	if _, err := remote.Image(ref(t, dst)); err != nil {
		t.Fatal(err)
	}

	recs, err := Records(ctx, dst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantRec := Record{Digest: want.String(), From: Endpoint{Env: "staging", Ref: src}, To: Endpoint{Env: "prod", Ref: dst}, Time: when, Host: "ci-1"}
	if len(recs) != 1 || recs[0] != wantRec {
		t.Errorf("records %+v, want [%+v]", recs, wantRec)
	}
	if res.Provenance == "" {
		t.Error("no provenance digest")
	}

	// Again: nothing to copy; one more record (its JSON is new).
	res, err = Promote(ctx, Options{Src: src, Dst: dst, Record: Provenance{FromEnv: "staging", ToEnv: "prod", Time: when.Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.BlobsCopied != 0 || res.BlobsSkipped != 4 || res.BytesCopied != 0 {
		t.Errorf("second promotion copied: %+v", res)
	}
	if sessions, uploaded := prod.reset(); sessions != 1 || len(uploaded) != 1 {
		t.Errorf("second promotion: %d sessions, uploads %v; want the record's JSON only", sessions, uploaded)
	}
	recs, err = Records(ctx, prod.host+"/example/app@"+want.String(), Options{})
	if err != nil || len(recs) != 2 || !recs[1].Time.Equal(when.Add(time.Hour)) {
		t.Errorf("records after the second promotion: %+v %v", recs, err)
	}
}

func TestPromoteIndexByDigest(t *testing.T) {
	ctx := context.Background()
	a, b := startRegistry(t), startRegistry(t)
	idx, err := random.Index(1024, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref(t, a.host+"/team/multi:v1"), idx); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	prog := &progressLog{}
	res, err := Promote(ctx, Options{Src: a.host + "/team/multi@" + d.String(), Dst: b.host + "/other/multi:v1", Progress: prog.report})
	if err != nil {
		t.Fatal(err)
	}
	if len(prog.finals) != 4 {
		t.Errorf("progress of the index's layers: %v, want 4 done", prog.finals)
	}
	for l, s := range prog.finals {
		if s != progress.Done {
			t.Errorf("layer %s: %s, want done", l, s)
		}
	}
	// 2 images × (config + 2 layers), none there before.
	if res.Digest != d.String() || res.BlobsCopied != 6 || res.BlobsSkipped != 0 {
		t.Errorf("result %+v", res)
	}
	got, err := remote.Head(ref(t, b.host+"/other/multi:v1"))
	if err != nil || got.Digest != d {
		t.Fatalf("target: %v %v", got, err)
	}
	if _, err := remote.Index(ref(t, b.host+"/other/multi:v1")); err != nil {
		t.Fatal(err)
	}
}

func TestPromoteWithinOneRegistryMounts(t *testing.T) {
	ctx := context.Background()
	r := startRegistry(t)
	img := ociImage(t, randomLayer(t), randomLayer(t))
	push(t, img, r.host+"/staging/app:1")
	r.reset()
	prog := &progressLog{}
	res, err := Promote(ctx, Options{Src: r.host + "/staging/app:1", Dst: r.host + "/prod/app:1", Progress: prog.report})
	if err != nil {
		t.Fatal(err)
	}
	prog.check(t, map[string]string{blobDigest(t, img, layerDigest(0)): progress.Mounted, blobDigest(t, img, layerDigest(1)): progress.Mounted})
	// Within one registry every blob is mounted, and counted once: as
	// mounted, not also as copied. No bytes move.
	if res.BlobsCopied != 0 || res.BlobsSkipped != 0 {
		t.Errorf("result %+v; want 0 copied, 3 mounted, 0 skipped", res)
	}
	_, uploaded := r.reset()
	if res.BlobsMounted != 3 || res.BytesCopied != 0 || len(uploaded) != 2 {
		t.Errorf("%d mounted, %d bytes, uploads %v; want 3 mounted and only the 2 record blobs uploaded", res.BlobsMounted, res.BytesCopied, uploaded)
	}
}

func TestPromoteErrors(t *testing.T) {
	ctx := context.Background()
	staging, prod := startRegistry(t), startRegistry(t)
	img := ociImage(t, randomLayer(t))
	push(t, img, staging.host+"/example/app:1.0")

	_, err := Promote(ctx, Options{Src: staging.host + "/example/app:nope", Dst: prod.host + "/example/app:nope"})
	if err == nil || !strings.Contains(err.Error(), staging.host+"/example/app:nope: no such image") {
		t.Errorf("unknown tag: %v", err)
	}
	_, err = Promote(ctx, Options{Src: staging.host + "/example/app:1.0", Dst: prod.host + "/example/app@sha256:" + strings.Repeat("0", 64)})
	if err == nil || !strings.Contains(err.Error(), "names digest sha256:000") {
		t.Errorf("wrong destination digest: %v", err)
	}
	_, err = Promote(ctx, Options{Src: "", Dst: prod.host + "/example/app:1"})
	if err == nil || !strings.Contains(err.Error(), "source: empty image reference") {
		t.Errorf("empty source: %v", err)
	}
	_, err = Promote(ctx, Options{Src: staging.host + "/example/app:1.0", Dst: prod.host + "/Example/app:1"})
	if err == nil || !strings.Contains(err.Error(), "destination:") {
		t.Errorf("bad destination: %v", err)
	}

	// The tag moves between resolving and tagging: the copy by digest
	// stays, the tag is not set.
	// (A flag, not a sync.Once: the push itself HEADs the tag.)
	var moved atomic.Bool
	staging.mu.Lock()
	staging.beforeHead = func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/manifests/1.0") && moved.CompareAndSwap(false, true) {
			push(t, ociImage(t, randomLayer(t)), staging.host+"/example/app:1.0")
		}
	}
	staging.mu.Unlock()
	res, err := Promote(ctx, Options{Src: staging.host + "/example/app:1.0", Dst: prod.host + "/example/app:1.0"})
	if err == nil || !strings.Contains(err.Error(), "moved from "+res.Digest) || !strings.Contains(err.Error(), "was not tagged") {
		t.Fatalf("moved tag: %v", err)
	}
	if _, err := remote.Head(ref(t, prod.host+"/example/app:1.0")); err == nil {
		t.Error("the target was tagged although the source tag moved")
	}
	if _, err := remote.Head(ref(t, prod.host+"/example/app@"+res.Digest)); err != nil {
		t.Errorf("the copy by digest is missing: %v", err)
	}
}

// progressLog keeps each layer's final progress status.
type progressLog struct {
	mu     sync.Mutex
	finals map[string]string
}

func (p *progressLog) report(e progress.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finals == nil {
		p.finals = map[string]string{}
	}
	if e.Final() {
		p.finals[e.Digest] += e.Status
	}
}

func (p *progressLog) check(t *testing.T, want map[string]string) {
	t.Helper()
	if len(p.finals) != len(want) {
		t.Errorf("progress %v, want %v", p.finals, want)
	}
	for d, s := range want {
		if p.finals[d] != s {
			t.Errorf("layer %s: progress %q, want %q", d, p.finals[d], s)
		}
	}
}
