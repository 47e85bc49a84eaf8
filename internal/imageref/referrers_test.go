package imageref_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/sign"
)

// TestReferrersListsAndReadsBack: an attestation attached to an image (by
// internal/sign, which attaches berth's referrers) is listed with its
// predicate-type annotation; its blob reads back, not over the limit; a
// layout has no referrers.
func TestReferrersListsAndReadsBack(t *testing.T) {
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
	res, err := sign.Attest(ctx, host+"/r/app:1", sign.PredicateSPDX, []byte(`{"x":1}`), nil, sign.AttestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := v1.NewHash(res.Referrer[strings.LastIndex(res.Referrer, "@")+1:])
	if err != nil {
		t.Fatal(err)
	}
	d, refs, err := imageref.Referrers(ctx, host+"/r/app:1", imageref.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := img.Digest(); d != want || len(refs) != 1 || refs[0].Digest != h || sign.ReferrerPredicateType(refs[0].Annotations) != sign.PredicateSPDX {
		t.Fatalf("referrers of %s: %+v", d, refs)
	}
	blob, err := imageref.ReadArtifact(ctx, host+"/r/app:1", h, 1<<20, imageref.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sign.StatementOf(blob)
	if err != nil || st.PredicateType != sign.PredicateSPDX || string(st.Predicate) != `{"x":1}` || !st.About(d.String()) {
		t.Fatalf("blob %q: %+v %v", blob, st, err)
	}
	if _, err := imageref.ReadArtifact(ctx, host+"/r/app:1", h, 3, imageref.Options{}); err == nil || !strings.Contains(err.Error(), "larger than 3 bytes") {
		t.Errorf("a blob over the limit: %v", err)
	}
	if _, _, err := imageref.Referrers(ctx, "oci-layout:"+t.TempDir(), imageref.Options{}); err == nil || !strings.Contains(err.Error(), "not a registry reference") {
		t.Errorf("referrers of a layout: %v", err)
	}
}
