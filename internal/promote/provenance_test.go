package promote

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestRecordManifest(t *testing.T) {
	subject := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: v1.Hash{Algorithm: "sha256", Hex: "3f1c0000000000000000000000000000000000000000000000000000000000aa"}, Size: 1234}
	when := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := Provenance{FromEnv: "staging", ToEnv: "prod", Time: when, Host: "ci-1"}.record(subject.Digest.String(), "a/app:1", "b/app:1")
	raw, blob, err := recordManifest(subject, rec)
	if err != nil {
		t.Fatal(err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	// The empty config is the spec's empty descriptor, byte for byte.
	if m.SchemaVersion != 2 || m.MediaType != ocispec.MediaTypeImageManifest || m.ArtifactType != ArtifactType ||
		m.Config.MediaType != ocispec.MediaTypeEmptyJSON || m.Config.Digest != ocispec.DescriptorEmptyJSON.Digest || m.Config.Size != 2 {
		t.Errorf("manifest %s", raw)
	}
	if m.Subject == nil || m.Subject.Digest.String() != subject.Digest.String() || m.Subject.Size != 1234 || m.Subject.MediaType != string(subject.MediaType) {
		t.Errorf("subject %+v", m.Subject)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != ArtifactType || m.Layers[0].Size != int64(len(blob)) || m.Annotations[ocispec.AnnotationCreated] != "2025-03-01T12:00:00Z" {
		t.Errorf("layers %+v annotations %v", m.Layers, m.Annotations)
	}
	want := `{"digest":"sha256:3f1c0000000000000000000000000000000000000000000000000000000000aa","from":{"env":"staging","ref":"a/app:1"},"to":{"env":"prod","ref":"b/app:1"},"time":"2025-03-01T12:00:00Z","host":"ci-1"}`
	if string(blob) != want {
		t.Errorf("record\n got %s\nwant %s", blob, want)
	}
}

func TestProvenanceDefaults(t *testing.T) {
	before := time.Now().Add(-time.Second)
	rec := Provenance{}.record("sha256:x", "a", "b")
	host, _ := os.Hostname()
	if rec.Host != host || rec.Time.Before(before.Round(time.Second).Add(-time.Second)) || rec.Time.Location() != time.UTC || rec.From.Env != "" {
		t.Errorf("defaults: %+v", rec)
	}
}
