package registry_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/console"
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
