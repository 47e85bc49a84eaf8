package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// podmanCLI runs podman against a private store: own root, runroot and
// tmpdir, vfs storage (no overlay mounts to clean up), cgroupfs and a file
// events log because there is no systemd, and a policy that accepts
// unsigned images.
type podmanCLI struct {
	args   []string
	env    []string
	policy string // for pull and push: the tests sign nothing
}

func newPodman(t *testing.T) *podmanCLI {
	t.Helper()
	requireRoot(t)
	requireTools(t, "podman")
	dir := t.TempDir()
	for _, d := range []string{"storage", "run", "tmp", "config"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// A private storage.conf keeps the host's /etc/containers/storage.conf
	// (driver options, additional image stores) out of the test.
	storageConf := filepath.Join(dir, "storage.conf")
	conf := fmt.Sprintf("[storage]\ndriver = \"vfs\"\ngraphroot = %q\nrunroot = %q\n",
		filepath.Join(dir, "storage"), filepath.Join(dir, "run"))
	if err := os.WriteFile(storageConf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &podmanCLI{
		policy: policy,
		args: []string{
			"--root", filepath.Join(dir, "storage"),
			"--runroot", filepath.Join(dir, "run"),
			"--tmpdir", filepath.Join(dir, "tmp"),
			"--storage-driver", "vfs",
			"--cgroup-manager", "cgroupfs",
			"--events-backend", "file",
		},
		env: []string{
			"CONTAINERS_STORAGE_CONF=" + storageConf,
			"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		},
	}
	// No `podman system reset` here: it would also delete the host's podman
	// networks. Containers run with --rm and vfs mounts nothing, so removing
	// the temp dir is enough; unmount anything a failed run left behind.
	t.Cleanup(func() {
		for _, m := range mountsUnder(dir) {
			unmountDetached(t, m)
		}
	})
	return p
}

func (p *podmanCLI) run(t *testing.T, args ...string) string {
	t.Helper()
	return mustRunEnv(t, p.env, "podman", append(slices.Clone(p.args), args...)...)
}

// TestPodman pulls the test image with podman, checks image ID and digest,
// runs it and pushes it to a new repository.
func TestPodman(t *testing.T) {
	t.Parallel()
	requireTools(t, "crane")
	p := newPodman(t)
	img := fixture(t)
	reg := startRegistry(t)
	ref := reg.Ref("podman/busybox:v1")
	pushFixture(t, ref)
	policy := p.policy

	t.Run("pull", func(t *testing.T) {
		out := p.run(t, "pull", "--tls-verify=false", "--signature-policy", policy, ref)
		// podman pull prints the image ID, which is the config digest.
		if got := lastLine(out); got != img.ConfigDigest.Encoded() {
			t.Fatalf("podman pull printed image ID %q, want %s", got, img.ConfigDigest.Encoded())
		}
		if got := strings.TrimSpace(p.run(t, "image", "inspect", "--format", "{{.Digest}}", ref)); got != img.ManifestDigest.String() {
			t.Fatalf("podman image digest %s, want %s", got, img.ManifestDigest)
		}
	})

	t.Run("run", func(t *testing.T) {
		// As root podman sets RLIMIT_NOFILE and RLIMIT_NPROC to 1048576,
		// which fails where the hard limit is lower and CAP_SYS_RESOURCE is
		// not granted (sandboxes, CI); small explicit limits always fit.
		out := p.run(t, "run", "--rm", "--network", "none",
			"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
			ref, "cat", "/"+markerPath)
		if out != markerContent {
			t.Fatalf("/%s in the podman container is %q, want %q", markerPath, out, markerContent)
		}
	})

	t.Run("push", func(t *testing.T) {
		pushed := reg.Ref("podman/pushed:v1")
		digestFile := filepath.Join(t.TempDir(), "digest")
		p.run(t, "push", "--tls-verify=false", "--signature-policy", policy, "--digestfile", digestFile, ref, "docker://"+pushed)
		b, err := os.ReadFile(digestFile)
		if err != nil {
			t.Fatal(err)
		}
		pushedDigest := digest.Digest(strings.TrimSpace(string(b)))
		raw := mustRun(t, "crane", "manifest", pushed)
		if got := digest.FromString(raw); got != pushedDigest {
			t.Fatalf("registry manifest for %s hashes to %s, podman reported %s", pushed, got, pushedDigest)
		}
		var man ocispec.Manifest
		mustJSON(t, raw, &man)
		if man.Config.Digest != img.ConfigDigest {
			t.Fatalf("podman pushed config %s, want %s", man.Config.Digest, img.ConfigDigest)
		}
		if len(man.Layers) != 1 {
			t.Fatalf("podman pushed layers %+v, want one", man.Layers)
		}
		blob := mustRun(t, "crane", "blob", repoOf(pushed)+"@"+man.Layers[0].Digest.String())
		if got := layerDiffID(t, []byte(blob)); got != img.DiffID {
			t.Fatalf("podman pushed layer %s uncompresses to %s, want %s", man.Layers[0].Digest, got, img.DiffID)
		}
	})
}
