package release

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/berth-dev/berth/internal/build"
)

type fakeSigner struct {
	log  *calls
	fail error
}

func (s *fakeSigner) Sign(_ context.Context, ref string) error {
	s.log.add("sign %s", ref)
	return s.fail
}

// TestPushedSignsThenAttaches: build --push's hook signs the pushed image
// by digest, then attaches its evidence; a signing failure attaches nothing.
func TestPushedSignsThenAttaches(t *testing.T) {
	f := newFixture()
	img, _ := random.Image(16, 1)
	w := build.Written{Name: "app", Destination: "127.0.0.1:5001/shop/app:1.0", Result: &build.Result{Digest: "sha256:abc", Image: img}}
	s := &fakeSigner{log: &f.log}
	hook := Pushed(s, &fakeAttester{log: &f.log}, evidenceBuilder{f.b}, "dev", io.Discard)
	if err := hook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	want := "sign 127.0.0.1:5001/shop/app@sha256:abc\nevidence app/dev " + d.String() +
		"\nattach 127.0.0.1:5001/shop/app@sha256:abc https://spdx.dev/Document\nattach 127.0.0.1:5001/shop/app@sha256:abc https://slsa.dev/provenance/v1"
	if got := strings.Join(f.log, "\n"); got != want {
		t.Errorf("calls\n%s\nwant\n%s", got, want)
	}

	f.log = nil
	s.fail = errors.New("denied")
	err := hook(context.Background(), w)
	if err == nil || err.Error() != "signing 127.0.0.1:5001/shop/app@sha256:abc: denied" || len(f.log) != 1 {
		t.Errorf("signing failure: %v, calls %q", err, f.log)
	}

	f.log = nil
	if err := Pushed(nil, &fakeAttester{log: &f.log}, evidenceBuilder{f.b}, "", io.Discard)(context.Background(), w); err != nil || len(f.log.with("sign")) != 0 {
		t.Errorf("unsigned: %v, calls %q", err, f.log)
	}
}
