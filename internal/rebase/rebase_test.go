package rebase

import (
	"compress/gzip"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/inspect"
)

type rebaseFixture struct {
	base1, base2, app v1.Image
	appLayers         []v1.Layer
	base2Layers       []v1.Layer
}

func newRebaseFixture(t *testing.T) rebaseFixture {
	t.Helper()
	var f rebaseFixture
	f.base1 = appendLayers(t, ociBase(t), []v1.Layer{layerOf(t, tarBytes(t, []ent{file("etc/os-release", "v1")}))}, []string{"os"})
	f.base2Layers = []v1.Layer{
		layerOf(t, tarBytes(t, []ent{file("etc/os-release", "v2")})),
		layerOf(t, tarBytes(t, []ent{file("etc/ca.pem", "ca")})),
	}
	f.base2 = appendLayers(t, ociBase(t), f.base2Layers, []string{"os", "certs"})
	f.appLayers = []v1.Layer{
		layerOf(t, tarBytes(t, []ent{file("app", "binary")})),
		layerOf(t, tarBytes(t, []ent{file("etc/app.conf", "x")})),
	}
	app := appendLayers(t, f.base1, f.appLayers, []string{"app", "config"})
	cf, err := app.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Env = []string{"A=1"}
	cf.Config.Labels = map[string]string{baseDigestAnnotation: mustDigest(t, f.base1).String(), "keep": "me"}
	// An empty-layer entry among the app's own entries must survive.
	cf.History = append(cf.History[:2], v1.History{CreatedBy: "ENV A=1", EmptyLayer: true}, cf.History[2])
	if app, err = mutate.ConfigFile(app, cf); err != nil {
		t.Fatal(err)
	}
	f.app = mutate.Annotations(app, map[string]string{
		baseNameAnnotation:   "example.com/base:1",
		baseDigestAnnotation: mustDigest(t, f.base1).String(),
		"other":              "kept",
	}).(v1.Image)
	return f
}

func TestRebase(t *testing.T) {
	f := newRebaseFixture(t)
	out, err := Image(f.app, f.base1, f.base2, Options{BaseName: "example.com/base:2"})
	if err != nil {
		t.Fatal(err)
	}
	// Layers: the new base's blobs, then the app's, digests unchanged.
	var want []v1.Hash
	for _, l := range append(append([]v1.Layer{}, f.base2Layers...), f.appLayers...) {
		d, _ := l.Digest()
		want = append(want, d)
	}
	if got := layerDigests(t, out); !reflect.DeepEqual(got, want) {
		t.Fatalf("layers %v, want %v", got, want)
	}
	cf, err := out.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range append(append([]v1.Layer{}, f.base2Layers...), f.appLayers...) {
		d, _ := l.DiffID()
		if cf.RootFS.DiffIDs[i] != d {
			t.Errorf("diff_ids[%d] = %s, want %s", i, cf.RootFS.DiffIDs[i], d)
		}
	}
	var hist []string
	for _, h := range cf.History {
		hist = append(hist, h.CreatedBy)
	}
	if want := []string{"berth: os", "berth: certs", "berth: app", "ENV A=1", "berth: config"}; !reflect.DeepEqual(hist, want) {
		t.Errorf("history %q, want %q", hist, want)
	}
	if !reflect.DeepEqual(cf.Config.Env, []string{"A=1"}) || cf.Config.Labels["keep"] != "me" ||
		cf.Config.Labels[baseDigestAnnotation] != mustDigest(t, f.base2).String() {
		t.Errorf("config %+v", cf.Config)
	}
	m, err := out.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Annotations[baseDigestAnnotation] != mustDigest(t, f.base2).String() ||
		m.Annotations[baseNameAnnotation] != "example.com/base:2" || m.Annotations["other"] != "kept" {
		t.Errorf("annotations %v", m.Annotations)
	}
	// The result is a consistent image: Inspect reads every layer.
	r, err := inspect.Inspect(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Layers) != 4 || r.Layers[1].Concern != "certs" || r.Layers[2].Concern != "app" {
		t.Errorf("inspect of the result: %+v", r.Layers)
	}
	// Rebasing back restores the original image exactly (labels/annotations
	// carry the old base's digest again).
	back, err := Image(out, f.base2, f.base1, Options{BaseName: "example.com/base:1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := layerDigests(t, back); !reflect.DeepEqual(got, layerDigests(t, f.app)) {
		t.Errorf("rebase back: layers %v", got)
	}
	bc, _ := back.ConfigFile()
	ac, _ := f.app.ConfigFile()
	if !reflect.DeepEqual(bc.RootFS, ac.RootFS) || !reflect.DeepEqual(bc.History, ac.History) {
		t.Errorf("rebase back: config differs")
	}
}

func TestRebaseRefusesForeignBase(t *testing.T) {
	f := newRebaseFixture(t)
	_, err := Image(f.app, f.base2, f.base1, Options{})
	base1Layers, _ := f.base1.Layers()
	appDiff, _ := base1Layers[0].DiffID()
	b2Diff, _ := f.base2Layers[0].DiffID()
	want := "the image's first 2 layers are not " + mustDigest(t, f.base2).String() +
		"'s layers (layer 0 differs: diffID " + appDiff.String() + ", the old base has " + b2Diff.String() + "); cannot rebase"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}

	// Same content, different compression: refused too (the blobs differ).
	tb, _ := base1Layers[0].Uncompressed()
	data, _ := io.ReadAll(tb)
	recompressed := layerOf(t, data, tarball.WithCompressionLevel(gzip.BestCompression))
	other := appendLayers(t, ociBase(t), []v1.Layer{recompressed}, []string{"os"})
	if d1, _ := recompressed.Digest(); d1 == layerDigests(t, f.base1)[0] {
		t.Skip("compression levels gave identical blobs")
	}
	_, err = Image(f.app, other, f.base2, Options{})
	if err == nil || !strings.Contains(err.Error(), "layer 0 differs: digest") || !strings.HasSuffix(err.Error(), "cannot rebase") {
		t.Fatalf("err = %v", err)
	}

	// An image with fewer layers than the old base.
	_, err = Image(f.base1, f.app, f.base2, Options{})
	if err == nil || !strings.Contains(err.Error(), "the image has only 1 layers") {
		t.Fatalf("err = %v", err)
	}
}

func TestOldBaseRef(t *testing.T) {
	f := newRebaseFixture(t)
	ref, err := OldBaseRef(f.app)
	if err != nil {
		t.Fatal(err)
	}
	if want := "example.com/base@" + mustDigest(t, f.base1).String(); ref != want {
		t.Errorf("OldBaseRef = %s, want %s", ref, want)
	}
	if _, err := OldBaseRef(f.base1); err == nil || !strings.Contains(err.Error(), baseNameAnnotation) {
		t.Errorf("no annotations: err = %v", err)
	}
}

// countingHandler records upload requests per repository.
type countingHandler struct {
	next    http.Handler
	mu      sync.Mutex
	uploads []string // "POST /v2/app/blobs/uploads/?mount=…" etc.
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Method == http.MethodPost {
		c.mu.Lock()
		c.uploads = append(c.uploads, r.URL.Path+"?"+r.URL.RawQuery)
		c.mu.Unlock()
	}
	c.next.ServeHTTP(w, r)
}

// Rebasing an image in a registry onto a base in the same registry pushes
// only the new config (layers are mounted or already there) and a manifest.
func TestRebaseOntoRegistryPushesOnlyConfigAndManifest(t *testing.T) {
	ctx := context.Background()
	h := &countingHandler{next: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(h)
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	host := u.Host
	f := newRebaseFixture(t)

	if err := imageref.Write(ctx, f.base1, host+"/base:1", imageref.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := imageref.Write(ctx, f.base2, host+"/base:2", imageref.Options{}); err != nil {
		t.Fatal(err)
	}
	app := mutate.Annotations(f.app, map[string]string{baseNameAnnotation: host + "/base:1"}).(v1.Image)
	if err := imageref.Write(ctx, app, host+"/app:1", imageref.Options{}); err != nil {
		t.Fatal(err)
	}
	pulled, err := imageref.Load(ctx, host+"/app:1", imageref.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Onto(ctx, pulled, host+"/base:2", imageref.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.uploads = nil
	h.mu.Unlock()
	if err := imageref.Write(ctx, out, host+"/app:2", imageref.Options{}); err != nil {
		t.Fatal(err)
	}
	// The new base's layers are either mounted from the base repository or
	// found present by the HEAD check (ggcr's test registry shares blobs
	// across repositories); the only content upload is the config.
	plain := 0
	for _, u := range h.uploads {
		if !strings.Contains(u, "mount=") {
			plain++
		}
	}
	if plain != 1 {
		t.Errorf("uploads %q: want exactly 1 non-mount upload (the config)", h.uploads)
	}
	got, err := imageref.Load(ctx, host+"/app:2", imageref.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if mustDigest(t, got) != mustDigest(t, out) {
		t.Errorf("pushed %s, rebased %s", mustDigest(t, got), mustDigest(t, out))
	}
	m, _ := got.Manifest()
	if m.Annotations[baseNameAnnotation] != host+"/base:2" {
		t.Errorf("base.name = %q", m.Annotations[baseNameAnnotation])
	}
}
