package e2e

import (
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	// regctl switches to chunked uploads above regctlBlobMax and sends
	// regctlChunk bytes per PATCH; the fixture layer (~1.1 MB) and the
	// artifact blob are both larger, so both go up in several chunks.
	regctlChunk   = 256 << 10
	regctlBlobMax = 512 << 10

	artifactType      = "application/vnd.berth.e2e.test"
	artifactMediaType = "application/vnd.berth.e2e.blob"
	artifactSize      = 3<<20 + 12345 // not a multiple of the chunk size
)

// regctlEnv isolates regctl's config (hosts, TLS) in a temp dir.
func regctlEnv(t *testing.T) []string {
	t.Helper()
	home := t.TempDir()
	return []string{"HOME=" + home, "REGCTL_CONFIG=" + filepath.Join(home, "regctl.json")}
}

// TestRegctl drives regclient: chunked uploads, OCI layout copies in and out,
// artifacts with a subject and the referrers API, tags and manifests.
func TestRegctl(t *testing.T) {
	t.Parallel()
	requireTools(t, "regctl")
	img := fixture(t)
	reg := startRegistry(t)
	rec := newRecorder(t, reg)
	env := regctlEnv(t)
	tmp := t.TempDir()
	regctl := func(t *testing.T, args ...string) string {
		t.Helper()
		return mustRunEnv(t, env, "regctl", args...)
	}

	regctl(t, "registry", "set", rec.Host, "--tls", "disabled",
		"--blob-chunk", itoa(regctlChunk), "--blob-max", itoa(regctlBlobMax))

	src := rec.Ref("regctl/busybox:v1")

	t.Run("copy-in-chunked", func(t *testing.T) {
		rec.Reset()
		regctl(t, "image", "copy", "ocidir://"+img.Layout+":"+layoutRefName, src)
		if got := lastLine(regctl(t, "image", "digest", src)); got != img.ManifestDigest.String() {
			t.Fatalf("regctl image digest %s = %s, want %s", src, got, img.ManifestDigest)
		}
		expectChunked(t, rec, "regctl/busybox", img.LayerSize)
	})

	t.Run("manifest-get", func(t *testing.T) {
		expectBytes(t, "regctl manifest get raw-body", []byte(regctl(t, "manifest", "get", src, "--format", "raw-body")), img.Manifest)
		expectBytes(t, "regctl blob get config", []byte(regctl(t, "blob", "get", repoOf(src), img.ConfigDigest.String())), img.Config)
	})

	var payload []byte
	t.Run("artifact-put-list-get", func(t *testing.T) {
		payload = pseudoRandom(artifactSize)
		file := filepath.Join(tmp, "artifact.bin")
		if err := os.WriteFile(file, payload, 0o644); err != nil {
			t.Fatal(err)
		}
		rec.Reset()
		regctl(t, "artifact", "put", "--artifact-type", artifactType,
			"-f", file, "-m", artifactMediaType, "--subject", src,
			rec.Ref("regctl/busybox:artifact"))
		expectChunked(t, rec, "regctl/busybox", int64(len(payload)))

		// The manifest PUT carries a subject: a v1.1 registry answers with
		// OCI-Subject, which tells regctl not to maintain a fallback tag.
		puts := rec.Requests(func(r recordedRequest) bool {
			return r.Method == http.MethodPut && r.Path == "/v2/regctl/busybox/manifests/artifact"
		})
		if len(puts) != 1 || puts[0].Status != http.StatusCreated {
			t.Fatalf("want one artifact manifest PUT answered 201:\n%s", rec.Dump())
		}
		fallback := "sha256-" + img.ManifestDigest.Encoded()
		tags := strings.Fields(regctl(t, "tag", "ls", repoOf(src)))
		if reg.Kind == kindBerth {
			if got := puts[0].Header.Get("OCI-Subject"); got != img.ManifestDigest.String() {
				t.Errorf("artifact PUT response OCI-Subject %q, want %s", got, img.ManifestDigest)
			}
			if slices.Contains(tags, fallback) {
				t.Errorf("regctl pushed the referrers fallback tag %s: the registry did not announce referrers support; tags %v", fallback, tags)
			}
		}

		rec.Reset()
		var list struct {
			Descriptors []ocispec.Descriptor
		}
		mustJSON(t, regctl(t, "artifact", "list", src, "--format", "{{json .}}"), &list)
		if len(list.Descriptors) != 1 || list.Descriptors[0].ArtifactType != artifactType {
			t.Fatalf("regctl artifact list %s = %+v, want one descriptor of type %s", src, list.Descriptors, artifactType)
		}
		artDigest := list.Descriptors[0].Digest
		if got := lastLine(regctl(t, "image", "digest", rec.Ref("regctl/busybox:artifact"))); got != artDigest.String() {
			t.Fatalf("referrers list gives %s, tag artifact resolves to %s", artDigest, got)
		}
		if reg.Kind == kindBerth {
			ref := rec.Requests(func(r recordedRequest) bool {
				return r.Method == http.MethodGet && r.Path == "/v2/regctl/busybox/referrers/"+img.ManifestDigest.String()
			})
			if len(ref) == 0 || ref[0].Status != http.StatusOK {
				t.Errorf("regctl artifact list did not get 200 from the referrers API:\n%s", rec.Dump())
			} else if ct := ref[0].Header.Get("Content-Type"); ct != ocispec.MediaTypeImageIndex {
				t.Errorf("referrers response Content-Type %q, want %q", ct, ocispec.MediaTypeImageIndex)
			}
		}

		got := regctl(t, "artifact", "get", "--subject", src, "--filter-artifact-type", artifactType)
		if digest.FromString(got) != digest.FromBytes(payload) {
			t.Fatalf("regctl artifact get returned %d bytes (%s), want the %d bytes pushed (%s)",
				len(got), digest.FromString(got), len(payload), digest.FromBytes(payload))
		}
	})

	t.Run("tag-ls", func(t *testing.T) {
		regctl(t, "image", "copy", src, rec.Ref("regctl/busybox:v2"))
		tags := strings.Fields(regctl(t, "tag", "ls", repoOf(src)))
		for _, want := range []string{"artifact", "v1", "v2"} {
			if !slices.Contains(tags, want) {
				t.Fatalf("regctl tag ls = %v, missing %s", tags, want)
			}
		}
		if !slices.IsSorted(tags) {
			t.Errorf("regctl tag ls = %v, not sorted", tags)
		}
		// Pagination with n and last, as regctl sends them. Debian's
		// distribution 2.8 ignores both on tags/list (added in v3.1).
		if reg.Kind != kindBerth {
			return
		}
		if got := strings.Fields(regctl(t, "tag", "ls", "--limit", "1", repoOf(src))); !slices.Equal(got, tags[:1]) {
			t.Fatalf("regctl tag ls --limit 1 = %v, want %v", got, tags[:1])
		}
		if got := strings.Fields(regctl(t, "tag", "ls", "--limit", "1", "--last", tags[0], repoOf(src))); !slices.Equal(got, tags[1:2]) {
			t.Fatalf("regctl tag ls --limit 1 --last %s = %v, want %v", tags[0], got, tags[1:2])
		}
	})

	t.Run("copy-out", func(t *testing.T) {
		dir := filepath.Join(tmp, "out")
		regctl(t, "image", "copy", src, "ocidir://"+dir+":v1")
		idx := readLayout(t, dir)
		var found bool
		for _, m := range idx.Manifests {
			found = found || m.Digest == img.ManifestDigest
		}
		if !found {
			t.Fatalf("OCI layout written by regctl: %+v, want manifest %s", idx.Manifests, img.ManifestDigest)
		}
		expectBytes(t, "layer copied out", layoutBlob(t, dir, img.LayerDigest), layoutBlob(t, img.Layout, img.LayerDigest))
	})
}

// expectChunked checks that blobs of repo went up as a chunked upload: a
// POST, several PATCHes with Content-Range, all accepted with 202 and a
// Range header covering the bytes so far, then a PUT ?digest= answered 201.
func expectChunked(t *testing.T, rec *recorder, repo string, size int64) {
	t.Helper()
	uploads := "/v2/" + repo + "/blobs/uploads/"
	patches := rec.Requests(func(r recordedRequest) bool {
		return r.Method == http.MethodPatch && strings.HasPrefix(r.Path, uploads) && r.ReqHeader.Get("Content-Range") != ""
	})
	want := int((size + regctlChunk - 1) / regctlChunk)
	if len(patches) < 2 {
		t.Fatalf("want >= 2 chunked PATCHes for a %d-byte blob (chunk %d); requests:\n%s", size, regctlChunk, rec.Dump())
	}
	for _, p := range patches {
		if p.Status != http.StatusAccepted {
			t.Fatalf("chunk %s answered %d, want 202; requests:\n%s", p.ReqHeader.Get("Content-Range"), p.Status, rec.Dump())
		}
		// Spec: Range is "0-<end>" over the whole upload so far, end
		// inclusive, the same end as the chunk's Content-Range.
		cr := p.ReqHeader.Get("Content-Range")
		end := cr[strings.Index(cr, "-")+1:]
		if got := p.Header.Get("Range"); got != "0-"+end {
			t.Fatalf("chunk Content-Range %s answered Range %q, want %q", cr, got, "0-"+end)
		}
	}
	if len(patches) < want {
		t.Logf("%d PATCHes for %d bytes (chunk %d): the registry raised the chunk size", len(patches), size, regctlChunk)
	}
	puts := rec.Requests(func(r recordedRequest) bool {
		return r.Method == http.MethodPut && strings.HasPrefix(r.Path, uploads) && r.Query.Get("digest") != ""
	})
	if len(puts) == 0 || puts[len(puts)-1].Status != http.StatusCreated {
		t.Fatalf("want a closing PUT ?digest= answered 201; requests:\n%s", rec.Dump())
	}
}

// pseudoRandom returns n reproducible, incompressible bytes.
func pseudoRandom(n int) []byte {
	r := rand.New(rand.NewChaCha8([32]byte{'b', 'e', 'r', 't', 'h'}))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
