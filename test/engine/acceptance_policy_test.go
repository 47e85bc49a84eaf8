package engine

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// attachSBOM attaches an SBOM attestation to ref's manifest the way cosign
// v3 and berth do: a sigstore-bundle referrer annotated with its predicate
// type. The bundle's content is not checked by require_sbom (presence is;
// require_signature proves who made it).
func attachSBOM(t *testing.T, ref string) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(r)
	if err != nil {
		t.Fatal(err)
	}
	repo := r.Context()
	const bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	cfg := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	blob := static.NewLayer([]byte(`{"mediaType":"`+bundleType+`","dsseEnvelope":{}}`), bundleType)
	for _, l := range []v1.Layer{cfg, blob} {
		if err := remote.WriteLayer(repo, l); err != nil {
			t.Fatal(err)
		}
	}
	cd, _ := cfg.Digest()
	bd, _ := blob.Digest()
	bs, _ := blob.Size()
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: bundleType,
		Config:      v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: cd, Size: 2},
		Layers:      []v1.Descriptor{{MediaType: bundleType, Digest: bd, Size: bs}},
		Annotations: map[string]string{"dev.sigstore.bundle.predicateType": "https://spdx.dev/Document", "dev.sigstore.bundle.content": "dsse-envelope"},
		Subject:     &v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}}
	raw, _ := json.Marshal(m)
	h, _, _ := v1.SHA256(bytes.NewReader(raw))
	if err := remote.Put(repo.Digest(h.String()), rawArtifact(raw)); err != nil {
		t.Fatal(err)
	}
}

type rawArtifact []byte

func (r rawArtifact) RawManifest() ([]byte, error)        { return r, nil }
func (r rawArtifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// TestPolicyGateRequireSBOM is issue 11's gate acceptance with the real
// registry evidence finder: prod requires an SBOM; 1.0.0 carries one and
// deploys; 2.0.0 has none, so `berth deploy -E prod --tag 2.0.0` is
// refused with a message naming the environment, the image by digest, the
// rule and the finding, and prod keeps running 1.0.0 with its history
// untouched; once an SBOM is attached, the same command deploys it.
func TestPolicyGateRequireSBOM(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the example is built for linux/amd64")
	}
	s := newStackEnv(t, "prod")
	s.env = append(s.env, "BERTH_APT_URL=file://"+aptRepoDir(t))
	reg, err := startRegistryProcess(filepath.Join(s.work, "registry"), filepath.Join(s.work, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.stop)
	prod := reg.addr

	dir := copyExample(t, "goapp", s.work)
	file := filepath.Join(dir, "berth.yaml")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	raw = append(raw, "  prod:\n    registry: \"${PROD}\"\n    repository: example\n    policy: {require_sbom: true}\n"...)
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	vars := []string{"-f", file, "--set", "PROD=" + prod}
	in := append([]string{"-p", "prod", "--set", "APP_PORT=" + strconv.Itoa(port)}, vars...)

	s.berth(append([]string{"build", "app", "--set", "VERSION=1.0.0", "--push", prod + "/example/app:1.0.0"}, vars...)...)
	attachSBOM(t, prod+"/example/app:1.0.0")
	first := deployedOne(t, s.berth(append([]string{"deploy", "-E", "prod", "--tag", "1.0.0", "--json"}, in...)...))
	waitOnlyVersion(t, port, "1.0.0")

	// 2.0.0 pushed by another tool: build --push would attach its SBOMs.
	layoutDir := filepath.Join(s.work, "layout-2.0.0")
	s.berth(append([]string{"build", "app", "--set", "VERSION=2.0.0", "--oci-layout", layoutDir}, vars...)...)
	pushLayoutImage(t, layoutDir, prod+"/example/app:2.0.0")
	d, err := remote.Head(mustRef(t, prod+"/example/app:2.0.0"))
	if err != nil {
		t.Fatalf("2.0.0 not pushed: %v", err)
	}
	out := s.berthFail(append([]string{"deploy", "-E", "prod", "--tag", "2.0.0"}, in...)...)
	want := `policy of environment "prod": image ` + prod + `/example/app@` + d.Digest.String() + ` refused: require_sbom: no SBOM attestation`
	if !strings.Contains(out, want) {
		t.Fatalf("deploy of 2.0.0 without an SBOM:\n%s\nwant %s", out, want)
	}
	waitOnlyVersion(t, port, "1.0.0")
	var h []struct {
		Revision int
		Digest   string
		Current  bool
	}
	hist := s.berth(append([]string{"history", "app", "--json"}, in...)...)
	if err := json.Unmarshal([]byte(hist), &h); err != nil || len(h) != 1 || !h[0].Current || h[0].Digest != first.Digest {
		t.Fatalf("history after the refusal: %v\n%s", err, hist)
	}

	attachSBOM(t, prod+"/example/app:2.0.0")
	r := deployedOne(t, s.berth(append([]string{"deploy", "-E", "prod", "--tag", "2.0.0", "--json"}, in...)...))
	if r.Digest != d.Digest.String() || r.Revision != 2 {
		t.Fatalf("deployed %+v, want %s as revision 2", r, d.Digest)
	}
	waitOnlyVersion(t, port, "2.0.0")
}

// pushLayoutImage pushes the one image of an OCI layout to ref, as a
// plain registry client would: no attestations.
func pushLayoutImage(t *testing.T, dir, ref string) {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("layout %s: %v, %d manifests", dir, err, len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(mustRef(t, ref), img); err != nil {
		t.Fatal(err)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPolicyGateRequireSignature is the signature half of issue 11's gate
// acceptance, with the real verifier and signer (internal/sign through
// internal/trust): prod requires a signature by cosign.pub. 1.0.0, signed
// with `berth sign`, deploys; 2.0.0, unsigned, is refused by `berth
// deploy -E prod` naming the environment, the image by digest, the rule
// and the finding, and prod keeps running 1.0.0 (history unchanged, the
// same containers); signed with `berth sign`, the same command deploys
// it; `berth ship -E prod --key cosign.key` signs 3.0.0 and passes.
func TestPolicyGateRequireSignature(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the example is built for linux/amd64")
	}
	s := newStackEnv(t, "prod")
	s.env = append(s.env, "BERTH_APT_URL=file://"+aptRepoDir(t), "BERTH_PASSWORD=acceptance")
	reg, err := startRegistryProcess(filepath.Join(s.work, "registry"), filepath.Join(s.work, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.stop)
	prod := reg.addr

	dir := copyExample(t, "goapp", s.work)
	s.berth("key", "generate", "--output-key-prefix", filepath.Join(dir, "cosign"))
	key := filepath.Join(dir, "cosign.key")
	file := filepath.Join(dir, "berth.yaml")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	raw = append(raw, "  prod:\n    registry: \"${PROD}\"\n    repository: example\n    policy: {require_signature: {keys: [cosign.pub]}}\n"...)
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	vars := []string{"-f", file, "--set", "PROD=" + prod}
	in := append([]string{"-p", "prod", "--set", "APP_PORT=" + strconv.Itoa(port)}, vars...)

	s.berth(append([]string{"build", "app", "--set", "VERSION=1.0.0", "--push", prod + "/example/app:1.0.0"}, vars...)...)
	s.berth("sign", prod+"/example/app:1.0.0", "--key", key)
	first := deployedOne(t, s.berth(append([]string{"deploy", "-E", "prod", "--tag", "1.0.0", "--json"}, in...)...))
	waitOnlyVersion(t, port, "1.0.0")
	containers := func() []string {
		var ids []string
		for _, c := range s.ps() {
			ids = append(ids, c.ID+" "+c.State)
		}
		return ids
	}
	before := containers()

	out := s.berth(append([]string{"build", "app", "--set", "VERSION=2.0.0", "--push", prod + "/example/app:2.0.0", "--json"}, vars...)...)
	d, err := remote.Head(mustRef(t, prod+"/example/app:2.0.0"))
	if err != nil {
		t.Fatalf("2.0.0 not pushed: %v\n%s", err, out)
	}
	out = s.berthFail(append([]string{"deploy", "-E", "prod", "--tag", "2.0.0"}, in...)...)
	want := `policy of environment "prod": image ` + prod + `/example/app@` + d.Digest.String() + ` refused: require_signature: no signature verifies with cosign.pub (no signature)`
	if !strings.Contains(out, want) {
		t.Fatalf("deploy of unsigned 2.0.0:\n%s\nwant %s", out, want)
	}
	waitOnlyVersion(t, port, "1.0.0")
	var h []struct {
		Revision int
		Digest   string
		Current  bool
	}
	hist := s.berth(append([]string{"history", "app", "--json"}, in...)...)
	if err := json.Unmarshal([]byte(hist), &h); err != nil || len(h) != 1 || !h[0].Current || h[0].Digest != first.Digest {
		t.Fatalf("history after the refusal: %v\n%s", err, hist)
	}
	if after := containers(); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("containers changed by a refused deploy: %v, were %v", after, before)
	}

	s.berth("sign", prod+"/example/app@"+d.Digest.String(), "--key", key)
	r := deployedOne(t, s.berth(append([]string{"deploy", "-E", "prod", "--tag", "2.0.0", "--json"}, in...)...))
	if r.Digest != d.Digest.String() || r.Revision != 2 {
		t.Fatalf("deployed %+v, want %s as revision 2", r, d.Digest)
	}
	waitOnlyVersion(t, port, "2.0.0")

	r = deployedOne(t, s.berth(append([]string{"ship", "-E", "prod", "--tag", "3.0.0", "--set", "VERSION=3.0.0", "--key", key, "--json"}, in...)...))
	if r.Revision != 3 {
		t.Fatalf("ship --key: %+v, want revision 3", r)
	}
	waitOnlyVersion(t, port, "3.0.0")
	if out := s.berth("verify", prod+"/example/app:3.0.0", "--key", filepath.Join(dir, "cosign.pub")); !strings.Contains(out, r.Digest) {
		t.Fatalf("berth verify after ship --key:\n%s", out)
	}
}
