package promote

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// pushArtifact pushes an OCI artifact manifest (empty config, content as
// its one layer) to repo by digest; subject nil makes a plain artifact (a
// legacy tag-schema signature), which tag then names.
func pushArtifact(t *testing.T, repo name.Repository, artifactType string, content []byte, subject *v1.Descriptor, annotations map[string]string, tag string) v1.Descriptor {
	t.Helper()
	for _, l := range []v1.Layer{static.NewLayer(emptyJSON, types.MediaType(ocispec.MediaTypeEmptyJSON)), static.NewLayer(content, types.MediaType(artifactType))} {
		if err := remote.WriteLayer(repo, l); err != nil {
			t.Fatal(err)
		}
	}
	empty, _, _ := v1.SHA256(bytes.NewReader(emptyJSON))
	bh, _, _ := v1.SHA256(bytes.NewReader(content))
	m := ocispec.Manifest{
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: artifactType,
		Config:       ocispec.Descriptor{MediaType: ocispec.MediaTypeEmptyJSON, Digest: digestOf(empty), Size: int64(len(emptyJSON))},
		Layers:       []ocispec.Descriptor{{MediaType: artifactType, Digest: digestOf(bh), Size: int64(len(content)), Annotations: annotations}},
		Annotations:  annotations,
	}
	if subject != nil {
		m.Subject = &ocispec.Descriptor{MediaType: string(subject.MediaType), Digest: digestOf(subject.Digest), Size: subject.Size}
	}
	m.SchemaVersion = 2
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	h, size, _ := v1.SHA256(bytes.NewReader(raw))
	var dst name.Reference = repo.Digest(h.String())
	if tag != "" {
		dst = repo.Tag(tag)
	}
	if err := remote.Put(dst, rawManifest(raw)); err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: size, ArtifactType: artifactType}
}

// referrersOf asks the registry's referrers endpoint (GET
// /v2/REPO/referrers/DIGEST) directly and returns the digests it lists.
func referrersOf(t *testing.T, host, repo string, d v1.Hash) []string {
	t.Helper()
	resp, err := http.Get("http://" + host + "/v2/" + repo + "/referrers/" + d.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("referrers of %s: %d %s", d, resp.StatusCode, body)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range idx.Manifests {
		out = append(out, m.Digest.String()+" "+m.ArtifactType)
	}
	sort.Strings(out)
	return out
}

// TestPromoteCopiesEvidence: every referrer of the image (a cosign bundle
// signature, an SBOM attestation, a signature of that attestation — a
// referrer of a referrer) and the cosign tag-schema .sig and .att arrive in
// the target: its referrers API lists the same referrers as the source's,
// and the tags exist there with the same digests.
func TestPromoteCopiesEvidence(t *testing.T) {
	ctx := context.Background()
	staging, prod := startRegistry(t), startRegistry(t)
	img := ociImage(t, randomLayer(t))
	push(t, img, staging.host+"/shop/app:1.0")
	d, _ := img.Digest()
	raw, _ := img.RawManifest()
	subject := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: d, Size: int64(len(raw))}
	repo := ref(t, staging.host+"/shop/app:1.0").Context()

	sig := pushArtifact(t, repo, "application/vnd.dev.sigstore.bundle.v0.3+json", []byte(`{"sig":1}`), &subject, map[string]string{"dev.sigstore.bundle.content": "dsse-envelope"}, "")
	sbom := pushArtifact(t, repo, "application/vnd.dev.sigstore.bundle.v0.3+json", []byte(`{"sbom":1}`), &subject, map[string]string{"dev.sigstore.bundle.predicateType": "https://spdx.dev/Document"}, "")
	sbomSig := pushArtifact(t, repo, "application/vnd.dev.sigstore.bundle.v0.3+json", []byte(`{"sig-of-sbom":1}`), &sbom, nil, "")
	legacySig := pushArtifact(t, repo, "application/vnd.dev.cosign.simplesigning.v1+json", []byte(`{"critical":{}}`), nil, map[string]string{"dev.cosignproject.cosign/signature": "MEUC"}, "sha256-"+d.Hex+".sig")
	legacyAtt := pushArtifact(t, repo, "application/vnd.dsse.envelope.v1+json", []byte(`{"payload":""}`), nil, map[string]string{"predicateType": "https://spdx.dev/Document"}, "sha256-"+d.Hex+".att")

	res, err := Promote(ctx, Options{Src: staging.host + "/shop/app:1.0", Dst: prod.host + "/shop/app:1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Referrers != 3 || strings.Join(res.TagArtifacts, ",") != "sha256-"+d.Hex+".sig,sha256-"+d.Hex+".att" {
		t.Errorf("referrers %d, tags %v", res.Referrers, res.TagArtifacts)
	}

	src := referrersOf(t, staging.host, "shop/app", d)
	got := referrersOf(t, prod.host, "shop/app", d)
	// The target has the source's referrers plus the new promotion record.
	want := append(append([]string{}, src...), res.Provenance+" "+ArtifactType)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(src) != 2 {
		t.Errorf("target referrers\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, x := range []v1.Descriptor{sig, sbom} {
		if !strings.Contains(strings.Join(got, "\n"), x.Digest.String()) {
			t.Errorf("referrer %s missing on the target", x.Digest)
		}
	}
	if got := referrersOf(t, prod.host, "shop/app", sbom.Digest); len(got) != 1 || !strings.HasPrefix(got[0], sbomSig.Digest.String()) {
		t.Errorf("referrers of the SBOM on the target: %v, want its signature %s", got, sbomSig.Digest)
	}
	for tag, want := range map[string]v1.Hash{"sha256-" + d.Hex + ".sig": legacySig.Digest, "sha256-" + d.Hex + ".att": legacyAtt.Digest} {
		desc, err := remote.Head(ref(t, prod.host+"/shop/app:"+tag))
		if err != nil || desc.Digest != want {
			t.Errorf("%s on the target: %v %v, want %s", tag, desc, err, want)
		}
	}

	// Promoting again copies nothing new: every blob is already there.
	staging.reset()
	prod.reset()
	if _, err := Promote(ctx, Options{Src: staging.host + "/shop/app:1.0", Dst: prod.host + "/shop/app:1.0"}); err != nil {
		t.Fatal(err)
	}
	_, uploaded := prod.reset()
	// Only the second promotion record's blob is new.
	if len(uploaded) > 1 {
		t.Errorf("second promotion uploaded %v", uploaded)
	}
}
