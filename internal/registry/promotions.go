package registry

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/console"
)

// promotionArtifactType is the artifact type of the promotion records
// berth promote attaches to a manifest it copied (promote.ArtifactType;
// the registry may not import promote, so the wire format is read here;
// TestConsolePortPromotions writes records with promote's own types).
const promotionArtifactType = "application/vnd.berth.promotion.v1+json"

// maxPromotionRecord bounds a record's blob (promote writes a few hundred
// bytes).
const maxPromotionRecord = 64 << 10

// promotionRecord is promote.Record's JSON.
type promotionRecord struct {
	Digest string `json:"digest"`
	From   struct {
		Env string `json:"env"`
		Ref string `json:"ref"`
	} `json:"from"`
	To struct {
		Env string `json:"env"`
		Ref string `json:"ref"`
	} `json:"to"`
	Time time.Time `json:"time"`
	Host string    `json:"host"`
}

// promotion reads the promotion record manifest d of repo: its one layer
// is the record.
func (r *Registry) promotion(repo string, d digest.Digest) (*console.Promotion, error) {
	_, content, err := r.meta.ResolveContent(repo, d.String())
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(content, &m); err != nil {
		return nil, fmt.Errorf("promotion record %s: %w", d, err)
	}
	if len(m.Layers) != 1 || m.Layers[0].Size > maxPromotionRecord {
		return nil, fmt.Errorf("promotion record %s: want one blob of at most %d bytes", d, maxPromotionRecord)
	}
	f, err := r.blobs.Open(m.Layers[0].Digest)
	if err != nil {
		return nil, fmt.Errorf("promotion record %s: %w", d, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPromotionRecord))
	if err != nil {
		return nil, fmt.Errorf("promotion record %s: %w", d, err)
	}
	var rec promotionRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("promotion record %s: %w", d, err)
	}
	return &console.Promotion{Digest: rec.Digest, FromEnv: rec.From.Env, FromRef: rec.From.Ref, ToEnv: rec.To.Env, ToRef: rec.To.Ref, Time: rec.Time, Host: rec.Host}, nil
}
