package imageref

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestAttachListsOnceAndReadsBack: an artifact attached twice (the same
// bytes) is one referrer; its blob reads back; a layout is refused.
func TestAttachListsOnceAndReadsBack(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true)))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host+"/r/app:1", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := &Attacher{}
	a := Artifact{ArtifactType: "application/vnd.in-toto+json", MediaType: "application/vnd.in-toto+json", Blob: []byte(`{"x":1}`),
		Annotations: map[string]string{"in-toto.io/predicate-type": "https://spdx.dev/Document"}}
	h1, err := at.Attach(ctx, host+"/r/app:1", a)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := at.Attach(ctx, host+"/r/app:1", a)
	if err != nil || h1 != h2 {
		t.Fatalf("second attach %s %v, first %s", h2, err, h1)
	}
	d, refs, err := Referrers(ctx, host+"/r/app:1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := img.Digest(); d != want || len(refs) != 1 || refs[0].Digest != h1 || refs[0].Annotations["in-toto.io/predicate-type"] != "https://spdx.dev/Document" {
		t.Fatalf("referrers of %s: %+v", d, refs)
	}
	blob, err := ReadArtifact(ctx, host+"/r/app:1", h1, 1<<20, Options{})
	if err != nil || string(blob) != `{"x":1}` {
		t.Fatalf("blob %q %v", blob, err)
	}
	if _, err := ReadArtifact(ctx, host+"/r/app:1", h1, 3, Options{}); err == nil {
		t.Error("a blob over the limit was read")
	}
	if _, err := at.Attach(ctx, "oci-layout:"+t.TempDir(), a); err == nil || !strings.Contains(err.Error(), "not a registry reference") {
		t.Errorf("attach to a layout: %v", err)
	}
}
