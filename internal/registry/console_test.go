package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/console"
	"github.com/berth-dev/berth/internal/promote"
	"github.com/berth-dev/berth/internal/registry"
)

// The console's port lists repositories, each tag with its manifest, and
// a manifest's referrers, from the registry's metadata.
func TestConsolePort(t *testing.T) {
	h := newHarness(t)
	app := h.pushImage("team/app", digest.SHA256, "1.0", 1)
	h.pushManifest("team/app", "latest", mtOCIManifest, app.manifest)
	h.pushImage("other", digest.SHA256, "v1", 2)
	cfg := h.pushEmptyConfig("team/app", digest.SHA256)
	sig := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"artifactType":"application/vnd.example.sig","config":%s,"layers":[],"subject":%s}`,
		mtOCIManifest, cfg, descriptor(mtOCIManifest, app.manifest, digest.SHA256))
	if r := h.pushManifest("team/app", digest.SHA256.FromBytes(sig).String(), mtOCIManifest, sig); r.status != http.StatusCreated {
		t.Fatalf("pushing the signature: %s", r)
	}
	p := h.reg.ConsolePort()
	ctx := context.Background()
	repos, err := p.Repositories(ctx)
	if err != nil || !slices.Equal(repos, []string{"other", "team/app"}) {
		t.Errorf("repositories %v (%v)", repos, err)
	}
	tags, err := p.Tags(ctx, "team/app")
	if err != nil || len(tags) != 2 {
		t.Fatalf("tags %+v (%v)", tags, err)
	}
	for _, tg := range tags {
		if tg.Digest != app.digest.String() || tg.MediaType != mtOCIManifest || tg.Size != int64(len(app.manifest)) || tg.Pushed.IsZero() {
			t.Errorf("tag %+v, want digest %s", tg, app.digest)
		}
	}
	if _, err := p.Tags(ctx, "nope"); !errors.Is(err, console.ErrNoRepository) {
		t.Errorf("an unknown repository: %v", err)
	}
	refs, err := p.Referrers(ctx, "team/app", app.digest.String())
	if err != nil || len(refs) != 1 || refs[0].ArtifactType != "application/vnd.example.sig" || refs[0].Digest != digest.SHA256.FromBytes(sig).String() {
		t.Errorf("referrers %+v (%v)", refs, err)
	}
	if _, err := p.Referrers(ctx, "team/app", "latest"); err == nil {
		t.Error("referrers of a non-digest: no error")
	}
}

// The console's Delete goes through the registry's own delete path: a tag
// goes, a manifest goes with its tags, an immutable tag (or the manifest
// it names) is refused with the registry's DENIED message, an unknown
// reference is console.ErrNoRepository, a bad name an error.
func TestConsolePortDelete(t *testing.T) {
	h := newHarnessWith(t, func(c *registry.Config) {
		c.Repositories = []registry.RepositoryRule{{Match: []string{"prod/**"}, ImmutableTags: true}}
	})
	ctx := context.Background()
	p := h.reg.ConsolePort()
	a := h.pushImage("team/app", digest.SHA256, "1.0", 1)
	h.pushManifest("team/app", "latest", mtOCIManifest, a.manifest)
	b := h.pushImage("team/app", digest.SHA256, "2.0", 2)
	if err := p.Delete(ctx, "team/app", "1.0"); err != nil {
		t.Fatalf("deleting a tag: %v", err)
	}
	h.expectManifest("team/app", "latest", mtOCIManifest, a.manifest, a.digest)
	if r := h.do(http.MethodGet, "/v2/team/app/manifests/1.0", nil); r.status != http.StatusNotFound {
		t.Errorf("the deleted tag: %s", r)
	}
	if err := p.Delete(ctx, "team/app", b.digest.String()); err != nil {
		t.Fatalf("deleting a manifest: %v", err)
	}
	if r := h.do(http.MethodGet, "/v2/team/app/manifests/2.0", nil); r.status != http.StatusNotFound {
		t.Errorf("the deleted manifest's tag: %s", r)
	}
	if err := p.Delete(ctx, "team/app", "1.0"); !errors.Is(err, console.ErrNoRepository) {
		t.Errorf("deleting a deleted tag: %v", err)
	}
	if err := p.Delete(ctx, "../x", "1.0"); err == nil {
		t.Error("a bad repository name: no error")
	}
	if err := p.Delete(ctx, "team/app", "bad tag!"); err == nil {
		t.Error("a bad tag: no error")
	}

	c := h.pushImage("prod/app", digest.SHA256, "1.0", 3)
	for _, ref := range []string{"1.0", c.digest.String()} {
		err := p.Delete(ctx, "prod/app", ref)
		if err == nil || !strings.Contains(err.Error(), "tag prod/app:1.0 is immutable") {
			t.Errorf("deleting %s in an immutable repository: %v", ref, err)
		}
	}
	h.expectManifest("prod/app", "1.0", mtOCIManifest, c.manifest, c.digest)
}

// A promotion record berth promote attached (its artifact type and its
// Record as the one blob, written here with promote's own types) reads as
// the referrer's Promotion; other referrers have none.
func TestConsolePortPromotions(t *testing.T) {
	h := newHarness(t)
	app := h.pushImage("team/app", digest.SHA256, "1.0", 1)
	rec := promote.Record{Digest: app.digest.String(), From: promote.Endpoint{Env: "staging", Ref: "staging.example/team/app:1.0"},
		To: promote.Endpoint{Env: "prod", Ref: "prod.example/team/app:1.0"}, Time: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Host: "ci-1"}
	blob, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	h.pushBlob("team/app", blob, digest.SHA256)
	cfg := h.pushEmptyConfig("team/app", digest.SHA256)
	m := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"artifactType":%q,"config":%s,"layers":[%s],"subject":%s}`,
		mtOCIManifest, promote.ArtifactType, cfg, descriptor(promote.ArtifactType, blob, digest.SHA256), descriptor(mtOCIManifest, app.manifest, digest.SHA256))
	if r := h.pushManifest("team/app", digest.SHA256.FromBytes(m).String(), mtOCIManifest, m); r.status != http.StatusCreated {
		t.Fatalf("pushing the promotion record: %s", r)
	}
	sig := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"artifactType":"application/vnd.example.sig","config":%s,"layers":[],"subject":%s}`,
		mtOCIManifest, cfg, descriptor(mtOCIManifest, app.manifest, digest.SHA256))
	if r := h.pushManifest("team/app", digest.SHA256.FromBytes(sig).String(), mtOCIManifest, sig); r.status != http.StatusCreated {
		t.Fatalf("pushing the signature: %s", r)
	}
	refs, err := h.reg.ConsolePort().Referrers(context.Background(), "team/app", app.digest.String())
	if err != nil || len(refs) != 2 {
		t.Fatalf("referrers %+v (%v)", refs, err)
	}
	var got *console.Promotion
	for _, r := range refs {
		if r.ArtifactType == promote.ArtifactType {
			got = r.Promotion
		} else if r.Promotion != nil {
			t.Errorf("a signature with a promotion: %+v", r)
		}
	}
	want := console.Promotion{Digest: app.digest.String(), FromEnv: "staging", FromRef: rec.From.Ref, ToEnv: "prod", ToRef: rec.To.Ref, Time: rec.Time, Host: "ci-1"}
	if got == nil || *got != want {
		t.Errorf("promotion %+v, want %+v", got, want)
	}
}
