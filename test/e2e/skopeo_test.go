package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// skopeo is containers/image, the library under podman, buildah and CRI-O.
type skopeoCLI struct {
	t      *testing.T
	policy string // signature policy accepting anything: the tests sign nothing
}

func newSkopeo(t *testing.T) *skopeoCLI {
	t.Helper()
	requireTools(t, "skopeo")
	policy := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return &skopeoCLI{t: t, policy: policy}
}

func (s *skopeoCLI) run(t *testing.T, args ...string) string {
	t.Helper()
	return mustRun(t, "skopeo", append([]string{"--policy", s.policy}, args...)...)
}

// skopeoInspect is the part of `skopeo inspect` output the tests check.
type skopeoInspect struct {
	Digest       digest.Digest
	Architecture string
	Os           string
	Layers       []digest.Digest
}

// TestSkopeo copies between an OCI layout, docker-archive and the registry in
// both directions, between repositories, and uses inspect, list-tags and
// delete.
func TestSkopeo(t *testing.T) {
	t.Parallel()
	sk := newSkopeo(t)
	img := fixture(t)
	reg := startRegistry(t)
	rec := newRecorder(t, reg)
	tmp := t.TempDir()

	src := rec.Ref("skopeo/busybox:v1")

	t.Run("copy-oci-to-registry", func(t *testing.T) {
		sk.run(t, "copy", "--dest-tls-verify=false", "oci:"+img.Layout+":"+layoutRefName, "docker://"+src)
		r := getManifest(t, reg, "skopeo/busybox", "v1")
		if r.Status != http.StatusOK {
			t.Fatalf("GET manifest after skopeo copy: %d %s", r.Status, r.Body)
		}
		expectBytes(t, "manifest pushed by skopeo", r.Body, img.Manifest)
		if d := r.Header.Get("Docker-Content-Digest"); d != img.ManifestDigest.String() {
			t.Fatalf("Docker-Content-Digest %q, want %s", d, img.ManifestDigest)
		}
	})

	t.Run("inspect", func(t *testing.T) {
		var got skopeoInspect
		mustJSON(t, sk.run(t, "inspect", "--tls-verify=false", "docker://"+src), &got)
		if got.Digest != img.ManifestDigest || got.Os != "linux" || "linux/"+got.Architecture != img.Platform ||
			!slices.Equal(got.Layers, []digest.Digest{img.LayerDigest}) {
			t.Fatalf("skopeo inspect = %+v, want digest %s, %s, layers [%s]", got, img.ManifestDigest, img.Platform, img.LayerDigest)
		}
		expectBytes(t, "skopeo inspect --raw", []byte(sk.run(t, "inspect", "--tls-verify=false", "--raw", "docker://"+src)), img.Manifest)
		expectBytes(t, "skopeo inspect --config --raw", []byte(sk.run(t, "inspect", "--tls-verify=false", "--config", "--raw", "docker://"+src)), img.Config)
	})

	t.Run("copy-registry-to-oci", func(t *testing.T) {
		dir := filepath.Join(tmp, "oci")
		sk.run(t, "copy", "--src-tls-verify=false", "docker://"+src, "oci:"+dir+":v1")
		idx := readLayout(t, dir)
		if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != img.ManifestDigest {
			t.Fatalf("OCI layout from registry: %+v, want manifest %s", idx.Manifests, img.ManifestDigest)
		}
		expectBytes(t, "layer copied to OCI layout", layoutBlob(t, dir, img.LayerDigest), layoutBlob(t, img.Layout, img.LayerDigest))
	})

	t.Run("copy-registry-to-docker-archive", func(t *testing.T) {
		out := filepath.Join(tmp, "archive.tar")
		sk.run(t, "copy", "--src-tls-verify=false", "docker://"+src, "docker-archive:"+out+":skopeo/busybox:v1")
		checkDockerArchive(t, out, img)
	})

	dst := rec.Ref("skopeo/mounted:v1")
	t.Run("copy-between-repos", func(t *testing.T) {
		rec.Reset()
		sk.run(t, "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "docker://"+src, "docker://"+dst)
		r := getManifest(t, reg, "skopeo/mounted", "v1")
		if r.Status != http.StatusOK || r.Header.Get("Docker-Content-Digest") != img.ManifestDigest.String() {
			t.Fatalf("copied manifest: status %d digest %q, want 200 %s", r.Status, r.Header.Get("Docker-Content-Digest"), img.ManifestDigest)
		}
		// containers/image learns where blobs live while reading the source
		// and mounts them into the destination repository.
		mounted := rec.Requests(func(r recordedRequest) bool {
			return r.Method == http.MethodPost && r.Path == "/v2/skopeo/mounted/blobs/uploads/" &&
				r.Query.Get("mount") == img.LayerDigest.String() && r.Query.Get("from") == "skopeo/busybox"
		})
		if len(mounted) != 1 || mounted[0].Status != http.StatusCreated {
			t.Fatalf("want the layer mounted from skopeo/busybox with 201; requests:\n%s", rec.Dump())
		}
	})

	t.Run("list-tags", func(t *testing.T) {
		sk.run(t, "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "docker://"+src, "docker://"+rec.Ref("skopeo/busybox:v2"))
		var got struct {
			Repository string
			Tags       []string
		}
		mustJSON(t, sk.run(t, "list-tags", "--tls-verify=false", "docker://"+repoOf(src)), &got)
		if !slices.Equal(got.Tags, []string{"v1", "v2"}) {
			t.Fatalf("skopeo list-tags = %v, want [v1 v2]", got.Tags)
		}
	})

	t.Run("delete", func(t *testing.T) {
		// skopeo resolves the tag and deletes the manifest by digest.
		sk.run(t, "delete", "--tls-verify=false", "docker://"+dst)
		expectManifestUnknown(t, reg, "skopeo/mounted", img.ManifestDigest.String())
		expectManifestUnknown(t, reg, "skopeo/mounted", "v1")
		r := runEnv(t, nil, "skopeo", "--policy", sk.policy, "inspect", "--tls-verify=false", "docker://"+dst)
		if r.Err == nil || !strings.Contains(r.Stderr, "manifest unknown") {
			t.Fatalf("skopeo inspect after delete: err %v, stderr %s; want manifest unknown", r.Err, r.Stderr)
		}
		// Deleting in one repository leaves the other untouched.
		if r := getManifest(t, reg, "skopeo/busybox", "v1"); r.Status != http.StatusOK {
			t.Fatalf("skopeo/busybox:v1 after deleting skopeo/mounted: status %d", r.Status)
		}
	})
}
