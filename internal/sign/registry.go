package sign

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth-dev/berth/internal/imageref"
)

// Options say how to reach the registry.
type Options struct {
	// Insecure allows plain HTTP to non-loopback registries.
	Insecure bool
	// Transport is the HTTP transport (nil: the default).
	Transport http.RoundTripper
}

// OCI annotation and media type names berth writes like cosign.
const (
	annotationCreated        = "org.opencontainers.image.created"
	annotationBundleContent  = "dev.sigstore.bundle.content"
	annotationBundlePredType = "dev.sigstore.bundle.predicateType"
	annotationSignature      = "dev.cosignproject.cosign/signature"
	annotationPredicateType  = "predicateType" // legacy .att layers
	annotationIntotoPredType = "in-toto.io/predicate-type"

	simplesigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	dsseMediaType          = "application/vnd.dsse.envelope.v1+json"
	emptyMediaType         = "application/vnd.oci.empty.v1+json"
)

// target is a manifest in a registry, resolved to its digest once.
type target struct {
	ref    string // as given
	repo   name.Repository
	digest name.Digest
	desc   v1.Descriptor
	opts   []remote.Option
}

// resolve turns ref (tag or digest) into the manifest it names now.
func resolve(ctx context.Context, ref string, o Options) (*target, error) {
	r, opts, err := imageref.Remote(ctx, ref, imageref.Options{Insecure: o.Insecure, Transport: o.Transport})
	if err != nil {
		return nil, err
	}
	desc, err := remote.Head(r, opts...)
	if err != nil {
		// Some registries do not answer HEAD; GET tells the same.
		g, gerr := remote.Get(r, opts...)
		if gerr != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		desc = &g.Descriptor
	}
	return &target{
		ref:    ref,
		repo:   r.Context(),
		digest: r.Context().Digest(desc.Digest.String()),
		desc:   *desc,
		opts:   opts,
	}, nil
}

// Digest is the resolved manifest digest, sha256:hex.
func (t *target) Digest() string { return t.desc.Digest.String() }

// tag is the cosign tag-schema name for suffix: sha256-<hex>.sig etc.
func (t *target) tag(suffix string) name.Tag {
	return t.repo.Tag(strings.Replace(t.Digest(), ":", "-", 1) + suffix)
}

// emptyConfig is the OCI empty descriptor's content.
var emptyConfig = []byte("{}")

// artifactManifest is an OCI 1.1 image manifest with artifactType (ggcr's
// v1.Manifest has the field; this keeps the raw bytes ours).
type artifactManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     types.MediaType   `json:"mediaType"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        v1.Descriptor     `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Subject       *v1.Descriptor    `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error)        { return r, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// writeReferrer pushes an artifact manifest whose subject is t, with one
// layer blob: cosign's layout (empty config, artifactType, annotations).
// ggcr's remote.Put maintains the sha256-<hex> fallback tag index when the
// registry has no referrers API.
func writeReferrer(t *target, artifactType, layerType string, blob []byte, annotations map[string]string) (v1.Hash, error) {
	cfg := static.NewLayer(emptyConfig, emptyMediaType)
	lay := static.NewLayer(blob, types.MediaType(layerType))
	for _, l := range []v1.Layer{cfg, lay} {
		if err := remote.WriteLayer(t.repo, l, t.opts...); err != nil {
			return v1.Hash{}, fmt.Errorf("uploading to %s: %w", t.repo, err)
		}
	}
	cd, _ := cfg.Digest()
	ld, _ := lay.Digest()
	m := artifactManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  artifactType,
		Config:        v1.Descriptor{MediaType: emptyMediaType, Digest: cd, Size: int64(len(emptyConfig))},
		Layers:        []v1.Descriptor{{MediaType: types.MediaType(layerType), Digest: ld, Size: int64(len(blob))}},
		Subject:       &v1.Descriptor{MediaType: t.desc.MediaType, Digest: t.desc.Digest, Size: t.desc.Size},
		Annotations:   annotations,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return v1.Hash{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Put(t.repo.Digest(h.String()), rawManifest(raw), t.opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("pushing referrer to %s: %w", t.repo, err)
	}
	return h, nil
}

func created() string { return time.Now().UTC().Format(time.RFC3339) }

// appendToTag adds one layer (blob with mediaType and annotations) to the
// cosign tag-schema manifest t:sha256-<hex><suffix>, creating it if needed;
// the layers already there stay (several signatures per image).
func appendToTag(t *target, suffix, mediaType string, blob []byte, annotations map[string]string) (name.Tag, error) {
	tag := t.tag(suffix)
	base, err := remote.Image(tag, t.opts...)
	if err != nil {
		if !imageref.IsNotFound(err) {
			return tag, fmt.Errorf("reading %s: %w", tag, err)
		}
		base = mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	} else if m, err := base.Manifest(); err != nil {
		return tag, fmt.Errorf("reading %s: %w", tag, err)
	} else {
		for _, l := range m.Layers {
			if l.MediaType == types.MediaType(mediaType) && equalAnnotations(l.Annotations, annotations) {
				if h, _, _ := v1.SHA256(bytes.NewReader(blob)); h == l.Digest {
					return tag, nil // the very same signature is there already
				}
			}
		}
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:       static.NewLayer(blob, types.MediaType(mediaType)),
		Annotations: annotations,
	})
	if err != nil {
		return tag, err
	}
	if err := remote.Write(tag, img, t.opts...); err != nil {
		return tag, fmt.Errorf("pushing %s: %w", tag, err)
	}
	return tag, nil
}

func equalAnnotations(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// referrers lists the manifests referring to t (through the referrers API,
// or the sha256-<hex> tag index where the registry has none).
func referrers(t *target) ([]v1.Descriptor, error) {
	idx, err := remote.Referrers(t.digest, t.opts...)
	if err != nil {
		if imageref.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("referrers of %s: %w", t.digest, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	return im.Manifests, nil
}

// layerBlobs fetches the manifest digest in t's repository and the blobs
// of its layers accepted by keep (each up to MaxPayload bytes).
type layerBlob struct {
	desc v1.Descriptor
	data []byte
	err  error // fetching or checking this blob failed
}

func fetchManifest(t *target, ref name.Reference) (*v1.Manifest, error) {
	d, err := remote.Get(ref, t.opts...)
	if err != nil {
		return nil, err
	}
	if len(d.Manifest) > MaxPayload {
		return nil, fmt.Errorf("manifest %s is too large", ref)
	}
	var m v1.Manifest
	if err := json.Unmarshal(d.Manifest, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %v", ref, err)
	}
	return &m, nil
}

func fetchLayers(t *target, m *v1.Manifest, keep func(v1.Descriptor) bool) []layerBlob {
	var out []layerBlob
	for _, l := range m.Layers {
		if !keep(l) {
			continue
		}
		lb := layerBlob{desc: l}
		lb.data, lb.err = fetchBlob(t, l)
		out = append(out, lb)
	}
	return out
}

// fetchBlob reads the blob d and checks its size and digest.
func fetchBlob(t *target, d v1.Descriptor) ([]byte, error) {
	if d.Size > MaxPayload || d.Size < 0 {
		return nil, fmt.Errorf("blob %s: size %d out of range", d.Digest, d.Size)
	}
	l, err := remote.Layer(t.repo.Digest(d.Digest.String()), t.opts...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, d.Size+1))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	if int64(len(b)) != d.Size {
		return nil, fmt.Errorf("blob %s: %d bytes, descriptor says %d", d.Digest, len(b), d.Size)
	}
	if h, _, _ := v1.SHA256(bytes.NewReader(b)); h != d.Digest {
		return nil, fmt.Errorf("blob %s: content digest is %s", d.Digest, h)
	}
	return b, nil
}
