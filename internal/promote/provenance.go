package promote

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ArtifactType is the artifact type of promotion records, and the media
// type of their one blob (the Record as JSON).
const ArtifactType = "application/vnd.berth.promotion.v1+json"

// Provenance is what the caller knows about a promotion that the refs do
// not say.
type Provenance struct {
	FromEnv, ToEnv string    // environment names ("" when not promoting between environments)
	Time           time.Time // zero: now
	Host           string    // "": this machine's host name
}

// Record is a promotion record: the blob of the referrer artifact.
type Record struct {
	Digest string    `json:"digest"`
	From   Endpoint  `json:"from"`
	To     Endpoint  `json:"to"`
	Time   time.Time `json:"time"`
	Host   string    `json:"host"`
}

// Endpoint is one side of a promotion.
type Endpoint struct {
	Env string `json:"env,omitempty"`
	Ref string `json:"ref"`
}

func (p Provenance) record(digest, from, to string) Record {
	r := Record{Digest: digest, From: Endpoint{Env: p.FromEnv, Ref: from}, To: Endpoint{Env: p.ToEnv, Ref: to}, Time: p.Time, Host: p.Host}
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.Time = r.Time.UTC().Round(time.Second)
	if r.Host == "" {
		r.Host, _ = os.Hostname()
	}
	return r
}

// emptyJSON is the OCI empty descriptor's content: the config of an
// artifact that has none.
var emptyJSON = []byte("{}")

// recordManifest builds the referrer artifact for rec: an OCI image
// manifest with the artifact type, the empty config, the record as its one
// layer and subject pointing at the promoted manifest.
func recordManifest(subject v1.Descriptor, rec Record) (manifest, blob []byte, err error) {
	blob, err = json.Marshal(rec)
	if err != nil {
		return nil, nil, err
	}
	empty, _, _ := v1.SHA256(bytes.NewReader(emptyJSON))
	bh, _, _ := v1.SHA256(bytes.NewReader(blob))
	m := ocispec.Manifest{
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactType,
		Config:       ocispec.Descriptor{MediaType: ocispec.MediaTypeEmptyJSON, Digest: digestOf(empty), Size: int64(len(emptyJSON))},
		Layers:       []ocispec.Descriptor{{MediaType: ArtifactType, Digest: digestOf(bh), Size: int64(len(blob))}},
		Subject:      &ocispec.Descriptor{MediaType: string(subject.MediaType), Digest: digestOf(subject.Digest), Size: subject.Size},
		Annotations:  map[string]string{ocispec.AnnotationCreated: rec.Time.Format(time.RFC3339)},
	}
	m.SchemaVersion = 2
	manifest, err = json.Marshal(m)
	return manifest, blob, err
}

// pushRecord uploads the record's blobs and its manifest (by digest: a
// tag would only clutter the repository; the referrers API finds it).
func pushRecord(repo name.Repository, subject v1.Descriptor, rec Record, opts []remote.Option) (v1.Hash, error) {
	raw, blob, err := recordManifest(subject, rec)
	if err != nil {
		return v1.Hash{}, err
	}
	for _, l := range []v1.Layer{static.NewLayer(emptyJSON, types.MediaType(ocispec.MediaTypeEmptyJSON)), static.NewLayer(blob, ArtifactType)} {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return v1.Hash{}, err
		}
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Put(repo.Digest(h.String()), rawManifest(raw), opts...); err != nil {
		return v1.Hash{}, err
	}
	return h, nil
}

// rawManifest is a manifest to PUT as it is.
type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error)        { return r, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// Records returns the promotion records attached to the manifest ref names
// (a tag or digest) in its repository, oldest first.
func Records(ctx context.Context, ref string, o Options) ([]Record, error) {
	r, err := parseRef(ref, o.Insecure)
	if err != nil {
		return nil, err
	}
	opts := o.remoteOptions(ctx, o.transport())
	d, err := remote.Head(r, opts...)
	if err != nil {
		return nil, describe(err, ref)
	}
	idx, err := remote.Referrers(r.Context().Digest(d.Digest.String()), append(opts, remote.WithFilter("artifactType", ArtifactType))...)
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var recs []Record
	for _, m := range im.Manifests {
		if m.ArtifactType != ArtifactType {
			continue // a registry that ignores the filter
		}
		img, err := remote.Image(r.Context().Digest(m.Digest.String()), opts...)
		if err != nil {
			return nil, err
		}
		layers, err := img.Layers()
		if err != nil {
			return nil, err
		}
		if len(layers) != 1 {
			return nil, fmt.Errorf("promotion record %s has %d blobs, want 1", m.Digest, len(layers))
		}
		rc, err := layers[0].Compressed()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
		rc.Close()
		if err != nil {
			return nil, err
		}
		var rec Record
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("promotion record %s: %w", m.Digest, err)
		}
		recs = append(recs, rec)
	}
	sortRecords(recs)
	return recs, nil
}

func sortRecords(recs []Record) {
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Time.Before(recs[j].Time) })
}

func digestOf(h v1.Hash) digest.Digest { return digest.Digest(h.String()) }
