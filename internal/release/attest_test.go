package release

import (
	"context"
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// evidenceBuilder is the fake builder that also describes its images.
type evidenceBuilder struct {
	*fakeBuilder
}

func (b evidenceBuilder) Evidence(_ context.Context, image, variant string, img v1.Image) ([]Predicate, error) {
	d, _ := img.Digest()
	b.log.add("evidence %s/%s %s", image, variant, d)
	return []Predicate{{"https://spdx.dev/Document", []byte(`{}`)}, {"https://slsa.dev/provenance/v1", []byte(`{}`)}}, nil
}

type fakeAttester struct {
	log  *calls
	fail error
}

func (a *fakeAttester) Attach(_ context.Context, ref, predicateType string, predicate []byte) error {
	a.log.add("attach %s %s", ref, predicateType)
	return a.fail
}

// TestShipAttachesEvidenceToPushedImages: every image ship pushes gets its
// predicates attached, by digest, after the push; local builds get none.
func TestShipAttachesEvidenceToPushedImages(t *testing.T) {
	f := newFixture()
	a := &fakeAttester{log: &f.log}
	f.p.Attester = a
	f.p.Builder = func() (Builder, error) { return evidenceBuilder{f.b}, nil }
	if _, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Ship, Env: "staging", Tag: "1.4.0", Targets: targets}); err != nil {
		t.Fatal(err)
	}
	app, _ := f.r.written["127.0.0.1:5001/shop/app:1.4.0"].Digest()
	dev, _ := f.r.written["127.0.0.1:5001/shop/app:1.4.0-dev"].Digest()
	want := []string{
		"attach 127.0.0.1:5001/shop/app@" + app.String() + " https://spdx.dev/Document",
		"attach 127.0.0.1:5001/shop/app@" + app.String() + " https://slsa.dev/provenance/v1",
		"attach 127.0.0.1:5001/shop/app@" + dev.String() + " https://spdx.dev/Document",
		"attach 127.0.0.1:5001/shop/app@" + dev.String() + " https://slsa.dev/provenance/v1",
	}
	if got := f.log.with("attach"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("attached\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Attached after the push of the same image.
	var wrote, attached int
	for i, c := range f.log {
		if c == "write 127.0.0.1:5001/shop/app:1.4.0" {
			wrote = i
		}
		if strings.HasPrefix(c, "attach 127.0.0.1:5001/shop/app@"+app.String()) && attached == 0 {
			attached = i
		}
	}
	if attached < wrote {
		t.Errorf("attached before the push: %q", f.log)
	}

	f = newFixture()
	f.p.Attester = &fakeAttester{log: &f.log}
	f.p.Builder = func() (Builder, error) { return evidenceBuilder{f.b}, nil }
	if _, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Ship}); err != nil {
		t.Fatal(err)
	}
	if got := f.log.with("attach"); len(got) != 0 {
		t.Errorf("local build attached %q", got)
	}
}

// TestAttachFailureFailsShip: an attestation that cannot be attached fails
// ship with the image, the predicate type and the reference.
func TestAttachFailureFailsShip(t *testing.T) {
	f := newFixture()
	f.p.Attester = &fakeAttester{log: &f.log, fail: errors.New("registry said no")}
	f.p.Builder = func() (Builder, error) { return evidenceBuilder{f.b}, nil }
	_, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Ship, Env: "staging", Targets: targets})
	if err == nil || !strings.Contains(err.Error(), "service web: image app: attaching https://spdx.dev/Document to 127.0.0.1:5001/shop/app@sha256:") ||
		!strings.Contains(err.Error(), "registry said no") {
		t.Fatalf("error %v", err)
	}
	// A builder that cannot describe its images is an error, not silence.
	f = newFixture()
	f.p.Attester = &fakeAttester{log: &f.log}
	_, err = f.p.Prepare(context.Background(), shop(), Request{Mode: Ship, Env: "staging", Targets: targets})
	if err == nil || !strings.Contains(err.Error(), "records no evidence") {
		t.Fatalf("error %v", err)
	}
}

func TestRecordReportsProgress(t *testing.T) {
	var log calls
	var out strings.Builder
	b := evidenceBuilder{&fakeBuilder{log: &log, images: map[string]v1.Image{}}}
	img, _ := b.Build(context.Background(), "app", "")
	if err := Record(context.Background(), &fakeAttester{log: &log}, b, "app", "", img, "r/app@sha256:x", &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "attached 2 attestations to r/app@sha256:x") {
		t.Errorf("progress %q", out.String())
	}
}
