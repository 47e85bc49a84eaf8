package e2e

import (
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestCrane drives go-containerregistry's crane: push from an OCI layout and
// from a rootfs tarball (append), pull as tarball and OCI layout, tags,
// catalog, cross-repo mount, copy to a second registry, delete and an index
// round trip.
func TestCrane(t *testing.T) {
	t.Parallel()
	requireTools(t, "crane")
	reg := startRegistry(t)
	rec := newRecorder(t, reg)
	img := fixture(t)
	tmp := t.TempDir()

	src := rec.Ref("crane/busybox:v1")
	pushFixture(t, src)

	t.Run("digest-manifest-config", func(t *testing.T) {
		if got := lastLine(mustRun(t, "crane", "digest", src)); got != img.ManifestDigest.String() {
			t.Fatalf("crane digest %s = %s, want %s", src, got, img.ManifestDigest)
		}
		expectBytes(t, "crane manifest", []byte(mustRun(t, "crane", "manifest", src)), img.Manifest)
		expectBytes(t, "crane config", []byte(mustRun(t, "crane", "config", src)), img.Config)
		// By digest too, which is a different lookup than by tag.
		expectBytes(t, "crane manifest by digest", []byte(mustRun(t, "crane", "manifest", refWithDigest(src, img.ManifestDigest))), img.Manifest)
	})

	t.Run("pull-tarball", func(t *testing.T) {
		out := filepath.Join(tmp, "pulled.tar")
		mustRun(t, "crane", "pull", src, out)
		checkDockerArchive(t, out, img)
	})

	t.Run("pull-oci", func(t *testing.T) {
		out := filepath.Join(tmp, "pulled-oci")
		mustRun(t, "crane", "pull", "--format=oci", src, out)
		idx := readLayout(t, out)
		if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != img.ManifestDigest {
			t.Fatalf("pulled OCI layout index %+v, want one manifest %s", idx.Manifests, img.ManifestDigest)
		}
		expectBytes(t, "pulled layer", layoutBlob(t, out, img.LayerDigest), layoutBlob(t, img.Layout, img.LayerDigest))
	})

	// crane append builds a Docker-media-type image from the rootfs tarball
	// (streamed, uncompressed input); mutate then rewrites its config.
	appended := rec.Ref("crane/appended:v1")
	var appendedDigest, armDigest digest.Digest
	t.Run("append-mutate", func(t *testing.T) {
		appendedDigest = digest.Digest(strings.TrimPrefix(lastLine(mustRun(t, "crane", "append", "-f", img.RootfsTar, "-t", appended)), repoOf(appended)+"@"))
		var m ocispec.Manifest
		mustJSON(t, mustRun(t, "crane", "manifest", appended), &m)
		if m.MediaType != dockerManifestV2 {
			t.Fatalf("crane append manifest media type %q, want %q", m.MediaType, dockerManifestV2)
		}
		var cfg ocispec.Image
		mustJSON(t, mustRun(t, "crane", "config", appended), &cfg)
		if !slices.Equal(cfg.RootFS.DiffIDs, []digest.Digest{img.DiffID}) {
			t.Fatalf("appended image diff_ids %v, want [%s]", cfg.RootFS.DiffIDs, img.DiffID)
		}

		arm := rec.Ref("crane/appended:arm64")
		out := lastLine(mustRun(t, "crane", "mutate", appended, "--set-platform", "linux/arm64", "-t", arm))
		armDigest = digest.Digest(strings.TrimPrefix(out, repoOf(arm)+"@"))
		mustJSON(t, mustRun(t, "crane", "config", arm), &cfg)
		if cfg.Architecture != "arm64" || cfg.OS != "linux" {
			t.Fatalf("mutated config platform %s/%s, want linux/arm64", cfg.OS, cfg.Architecture)
		}
		if got := lastLine(mustRun(t, "crane", "digest", arm)); got != armDigest.String() {
			t.Fatalf("crane digest %s = %s, want %s (printed by mutate)", arm, got, armDigest)
		}
	})

	t.Run("tag-ls", func(t *testing.T) {
		mustRun(t, "crane", "tag", src, "v2")
		if got := lastLine(mustRun(t, "crane", "digest", rec.Ref("crane/busybox:v2"))); got != img.ManifestDigest.String() {
			t.Fatalf("digest of new tag v2 = %s, want %s", got, img.ManifestDigest)
		}
		tags := strings.Fields(mustRun(t, "crane", "ls", repoOf(src)))
		if !slices.Equal(tags, []string{"v1", "v2"}) {
			t.Fatalf("crane ls %s = %v, want [v1 v2]", repoOf(src), tags)
		}
	})

	t.Run("copy-mount", func(t *testing.T) {
		rec.Reset()
		dst := rec.Ref("crane/copy:v1")
		mustRun(t, "crane", "copy", src, dst)
		if got := lastLine(mustRun(t, "crane", "digest", dst)); got != img.ManifestDigest.String() {
			t.Fatalf("copied digest %s, want %s", got, img.ManifestDigest)
		}
		// Within one registry crane mounts blobs instead of uploading them.
		mounts := rec.Requests(func(r recordedRequest) bool {
			return r.Method == http.MethodPost && r.Path == "/v2/crane/copy/blobs/uploads/" &&
				r.Query.Get("mount") == img.LayerDigest.String() && r.Query.Get("from") == "crane/busybox"
		})
		if len(mounts) != 1 || mounts[0].Status != http.StatusCreated {
			t.Fatalf("want one cross-repo mount of the layer answered 201; requests:\n%s", rec.Dump())
		}
		if got := mounts[0].Header.Get("Docker-Content-Digest"); got != img.LayerDigest.String() {
			t.Errorf("mount response Docker-Content-Digest %q, want %s", got, img.LayerDigest)
		}
		if uploads := rec.Requests(func(r recordedRequest) bool {
			return r.Method == http.MethodPatch && strings.HasPrefix(r.Path, "/v2/crane/copy/")
		}); len(uploads) != 0 {
			t.Fatalf("copy uploaded data although every blob was mountable:\n%s", rec.Dump())
		}
	})

	t.Run("catalog", func(t *testing.T) {
		repos := strings.Fields(mustRun(t, "crane", "catalog", rec.Host))
		for _, want := range []string{"crane/appended", "crane/busybox", "crane/copy"} {
			if !slices.Contains(repos, want) {
				t.Fatalf("crane catalog = %v, missing %s", repos, want)
			}
		}
		if !slices.IsSorted(repos) {
			t.Errorf("crane catalog = %v, not sorted", repos)
		}
	})

	t.Run("delete", func(t *testing.T) {
		ref := refWithDigest(rec.Ref("crane/copy:v1"), img.ManifestDigest)
		mustRun(t, "crane", "delete", ref)
		expectManifestUnknown(t, reg, "crane/copy", img.ManifestDigest.String())
		expectManifestUnknown(t, reg, "crane/copy", "v1")
		if tags := listTags(t, reg, "crane/copy"); slices.Contains(tags, "v1") {
			t.Fatalf("tags of crane/copy after deleting its only manifest: %v", tags)
		}
		r := mustFailEnv(t, nil, "crane", "manifest", ref)
		if !strings.Contains(r.Stderr, "MANIFEST_UNKNOWN") && !strings.Contains(r.Stderr, "NAME_UNKNOWN") {
			t.Fatalf("crane manifest after delete: want MANIFEST_UNKNOWN, got %s", r.Stderr)
		}
		// The same manifest in another repository is untouched.
		if got := lastLine(mustRun(t, "crane", "digest", src)); got != img.ManifestDigest.String() {
			t.Fatalf("%s after deleting the copy: digest %s, want %s", src, got, img.ManifestDigest)
		}
	})

	reg2 := startRegistry(t)

	t.Run("copy-to-second-registry", func(t *testing.T) {
		dst := reg2.Ref("crane/busybox:v1")
		mustRun(t, "crane", "copy", src, dst)
		expectBytes(t, "manifest in second registry", []byte(mustRun(t, "crane", "manifest", dst)), img.Manifest)
		expectBytes(t, "config in second registry", []byte(mustRun(t, "crane", "config", dst)), img.Config)
	})

	t.Run("index", func(t *testing.T) {
		if appendedDigest == "" || armDigest == "" {
			t.Skip("needs append-mutate")
		}
		idxRef := rec.Ref("crane/multi:v1")
		out := lastLine(mustRun(t, "crane", "index", "append", "-m", src, "-m", rec.Ref("crane/appended:arm64"), "-t", idxRef))
		idxDigest := digest.Digest(strings.TrimPrefix(out, repoOf(idxRef)+"@"))
		raw := mustRun(t, "crane", "manifest", idxRef)
		if got := digest.FromString(raw); got != idxDigest {
			t.Fatalf("index manifest hashes to %s, crane index append printed %s", got, idxDigest)
		}
		var idx ocispec.Index
		mustJSON(t, raw, &idx)
		if idx.MediaType != ocispec.MediaTypeImageIndex {
			t.Fatalf("index media type %q, want %q", idx.MediaType, ocispec.MediaTypeImageIndex)
		}
		var children []digest.Digest
		for _, m := range idx.Manifests {
			children = append(children, m.Digest)
		}
		if !slices.Equal(children, []digest.Digest{img.ManifestDigest, armDigest}) {
			t.Fatalf("index children %v, want [%s %s]", children, img.ManifestDigest, armDigest)
		}
		// HEAD on the index must give the same digest and media type.
		h := httpDo(t, http.MethodHead, reg.URL("/v2/crane/multi/manifests/v1"), map[string]string{"Accept": manifestAccept})
		if h.Status != http.StatusOK || h.Header.Get("Docker-Content-Digest") != idxDigest.String() ||
			h.Header.Get("Content-Type") != ocispec.MediaTypeImageIndex {
			t.Fatalf("HEAD index: status %d, Docker-Content-Digest %q, Content-Type %q; want 200, %s, %s",
				h.Status, h.Header.Get("Docker-Content-Digest"), h.Header.Get("Content-Type"), idxDigest, ocispec.MediaTypeImageIndex)
		}

		// Copy to the second registry keeps the index digest.
		dst := reg2.Ref("crane/multi:v1")
		mustRun(t, "crane", "copy", idxRef, dst)
		if got := lastLine(mustRun(t, "crane", "digest", dst)); got != idxDigest.String() {
			t.Fatalf("index digest in second registry %s, want %s", got, idxDigest)
		}

		// Round trip through disk: pull the whole index as an OCI layout and
		// push the layout back. crane pushes the layout's own index.json,
		// which nests ours, so the pushed top level must point at idxDigest.
		dir := filepath.Join(tmp, "index-oci")
		mustRun(t, "crane", "pull", "--format=oci", idxRef, dir)
		layout := readLayout(t, dir)
		if len(layout.Manifests) != 1 || layout.Manifests[0].Digest != idxDigest {
			t.Fatalf("pulled index layout %+v, want the index %s", layout.Manifests, idxDigest)
		}
		nested := reg2.Ref("crane/nested:v1")
		mustRun(t, "crane", "push", "--index", dir, nested)
		var top ocispec.Index
		mustJSON(t, mustRun(t, "crane", "manifest", nested), &top)
		if len(top.Manifests) != 1 || top.Manifests[0].Digest != idxDigest {
			t.Fatalf("pushed layout index %+v, want one child %s", top.Manifests, idxDigest)
		}
		expectBytes(t, "nested index", []byte(mustRun(t, "crane", "manifest", refWithDigest(nested, idxDigest))), []byte(raw))

		var armCfg ocispec.Image
		mustJSON(t, mustRun(t, "crane", "config", "--platform", "linux/arm64", dst), &armCfg)
		if armCfg.Architecture != "arm64" {
			t.Fatalf("linux/arm64 child of the copied index has architecture %q", armCfg.Architecture)
		}
	})

	t.Run("manifest-headers", func(t *testing.T) {
		// docker's ping reads this header, on 200 and on 401 alike.
		if v := httpDo(t, http.MethodGet, reg.URL("/v2/"), nil).Header.Get("Docker-Distribution-API-Version"); v != "registry/2.0" {
			t.Fatalf("GET /v2/ Docker-Distribution-API-Version %q, want registry/2.0", v)
		}
		r := getManifest(t, reg, "crane/busybox", "v1")
		if r.Status != http.StatusOK {
			t.Fatalf("GET manifest: %d %s", r.Status, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); ct != ocispec.MediaTypeImageManifest {
			t.Fatalf("GET manifest Content-Type %q, want %q", ct, ocispec.MediaTypeImageManifest)
		}
		if d := r.Header.Get("Docker-Content-Digest"); d != img.ManifestDigest.String() {
			t.Fatalf("GET manifest Docker-Content-Digest %q, want %s", d, img.ManifestDigest)
		}
	})

	t.Run("restart-keeps-content", func(t *testing.T) {
		reg.restart(t)
		expectBytes(t, "manifest after restart", []byte(mustRun(t, "crane", "manifest", src)), img.Manifest)
		out := filepath.Join(tmp, "after-restart.tar")
		mustRun(t, "crane", "pull", src, out)
		checkDockerArchive(t, out, img)
		if tags := strings.Fields(mustRun(t, "crane", "ls", repoOf(src))); !slices.Equal(tags, []string{"v1", "v2"}) {
			t.Fatalf("tags after restart %v, want [v1 v2]", tags)
		}
		expectManifestUnknown(t, reg, "crane/copy", img.ManifestDigest.String())
	})
}
