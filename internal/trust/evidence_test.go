package trust

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth-dev/berth/internal/sign"
)

type evidenceManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m evidenceManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m evidenceManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// attachArtifact pushes an artifact (one layer of content) to repo: as a referrer
// of subject when subject is set, else under tag.
func attachArtifact(t *testing.T, repo name.Repository, subject *v1.Descriptor, artifactType string, manifestAnn, layerAnn map[string]string, tag string) {
	t.Helper()
	cfg := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	blob := static.NewLayer([]byte(`{"x":1}`), types.MediaType(artifactType))
	for _, l := range []v1.Layer{cfg, blob} {
		if err := remote.WriteLayer(repo, l); err != nil {
			t.Fatal(err)
		}
	}
	cd, _ := cfg.Digest()
	bd, _ := blob.Digest()
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: artifactType,
		Config:      v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: cd, Size: 2},
		Layers:      []v1.Descriptor{{MediaType: types.MediaType(artifactType), Digest: bd, Size: 7, Annotations: layerAnn}},
		Annotations: manifestAnn, Subject: subject}
	raw, _ := json.Marshal(m)
	h, _, _ := v1.SHA256(bytes.NewReader(raw))
	var ref name.Reference = repo.Digest(h.String())
	if tag != "" {
		ref = repo.Tag(tag)
	}
	if err := remote.Put(ref, evidenceManifest{raw, types.OCIManifestSchema1}); err != nil {
		t.Fatal(err)
	}
}

func TestRegistryEvidence(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	repo, _ := name.NewRepository(host+"/shop/app", name.Insecure)
	push := func() (v1.Descriptor, string) {
		img, _ := random.Image(16, 1)
		d, _ := img.Digest()
		if err := remote.Write(repo.Digest(d.String()), img); err != nil {
			t.Fatal(err)
		}
		raw, _ := img.RawManifest()
		mt, _ := img.MediaType()
		return v1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(raw))}, repo.Name() + "@" + d.String()
	}
	ev := RegistryEvidence{}
	sboms := []string{sign.PredicateSPDX, sign.PredicateCycloneDX}
	ctx := context.Background()

	bare, bareRef := push()
	// A signature and a provenance referrer are not an SBOM.
	attachArtifact(t, repo, &bare, "application/vnd.dev.sigstore.bundle.v0.3+json", map[string]string{"dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1"}, nil, "")
	attachArtifact(t, repo, &bare, "application/vnd.dev.sigstore.bundle.v0.3+json", map[string]string{"dev.sigstore.bundle.predicateType": "https://slsa.dev/provenance/v1"}, nil, "")
	if ok, err := ev.HasAttestation(ctx, bareRef, sboms); ok || err != nil {
		t.Errorf("no SBOM: %v %v", ok, err)
	}

	bundled, bundledRef := push()
	attachArtifact(t, repo, &bundled, "application/vnd.dev.sigstore.bundle.v0.3+json", map[string]string{"dev.sigstore.bundle.predicateType": sign.PredicateCycloneDX}, nil, "")
	if ok, err := ev.HasAttestation(ctx, bundledRef, sboms); !ok || err != nil {
		t.Errorf("bundle SBOM referrer: %v %v", ok, err)
	}

	legacy, legacyRef := push()
	attachArtifact(t, repo, nil, "application/vnd.dsse.envelope.v1+json", nil, map[string]string{"predicateType": sign.PredicateSPDX}, "sha256-"+legacy.Digest.Hex+".att")
	if ok, err := ev.HasAttestation(ctx, legacyRef, sboms); !ok || err != nil {
		t.Errorf("legacy .att SBOM: %v %v", ok, err)
	}
	if _, err := ev.HasAttestation(ctx, host+"/shop/app:latest", sboms); err == nil {
		t.Error("a tag reference was accepted")
	}
}

// TestRegistryEvidenceStatementReferrer: berth's unsigned statement
// referrer (sign.Attest without a key; its predicate type in the
// in-toto.io/predicate-type annotation) is evidence of its type only, on a
// registry with the referrers API; an image that is not there is no
// evidence, not an error.
func TestRegistryEvidenceStatementReferrer(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true)))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(16, 1)
	d, _ := img.Digest()
	ref := host + "/shop/app@" + d.String()
	dr, _ := name.NewDigest(ref)
	if err := remote.Write(dr, img); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := sign.Attest(ctx, ref, sign.PredicateCycloneDX, []byte(`{"bomFormat":"CycloneDX"}`), nil, sign.AttestOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := RegistryEvidence{}
	if ok, err := ev.HasAttestation(ctx, ref, []string{sign.PredicateSPDX, sign.PredicateCycloneDX}); !ok || err != nil {
		t.Errorf("statement SBOM referrer: %v %v", ok, err)
	}
	if ok, err := ev.HasAttestation(ctx, ref, []string{sign.PredicateSLSA1}); ok || err != nil {
		t.Errorf("provenance asked, SBOM attached: %v %v", ok, err)
	}
	missing := host + "/shop/app@sha256:" + strings.Repeat("0", 64)
	if ok, err := ev.HasAttestation(ctx, missing, []string{sign.PredicateSPDX}); ok || err != nil {
		t.Errorf("image not in the registry: %v %v", ok, err)
	}
}
