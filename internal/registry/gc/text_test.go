package gc

import (
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/registry/metadata"
)

func TestReportText(t *testing.T) {
	rep := Report{
		DryRun:     true,
		Manifests:  []metadata.RepoManifest{{Repo: "team/app", Digest: "sha256:aa"}},
		Blobs:      []digest.Digest{"sha256:bb"},
		BytesFreed: 42, Uploads: 1, TempFiles: 2, Duration: 1234567 * time.Microsecond,
	}
	var b strings.Builder
	rep.WriteText(&b)
	want := "manifest team/app@sha256:aa\nblob sha256:bb\nwould remove 1 manifests, 1 blobs (42 bytes), 1 uploads, 2 temp files in 1.235s\n"
	if b.String() != want {
		t.Errorf("got %q\nwant %q", b.String(), want)
	}
	b.Reset()
	Report{}.WriteText(&b)
	if !strings.HasPrefix(b.String(), "removed 0 manifests") {
		t.Errorf("got %q", b.String())
	}
}
