// Package rebase swaps an image's base layers for another base's without
// rebuilding: the one image operation that writes (produces a new image);
// internal/inspect only reads.
package rebase

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/imageref"
)

// The base image annotations (image-spec annotations.md) name the old base;
// berth also honours them as config labels, where some builders put them.
const (
	baseNameAnnotation   = ocispec.AnnotationBaseImageName
	baseDigestAnnotation = ocispec.AnnotationBaseImageDigest
)

// Options tune Image.
type Options struct {
	// BaseName, when set, becomes the base.name annotation (and label, if the
	// image has that label); otherwise the image's value is kept.
	BaseName string
}

// Image replaces img's first layers, which must be exactly oldBase's
// layers (same diffIDs and same compressed digests), with newBase's layers.
//
// Nothing is recompressed: the result references the very blobs of newBase
// and of img, so pushing it next to them uploads only a new config and
// manifest. The config is img's with rootfs.diff_ids and history recomputed
// (newBase's history, then img's entries after the old base's) and the
// base.digest label updated; the manifest is img's with the new layer list
// and base annotations. Unknown fields of both documents are kept.
func Image(img, oldBase, newBase v1.Image, o Options) (v1.Image, error) {
	in, err := readParts(img)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	old, err := readParts(oldBase)
	if err != nil {
		return nil, fmt.Errorf("old base: %w", err)
	}
	nb, err := readParts(newBase)
	if err != nil {
		return nil, fmt.Errorf("new base: %w", err)
	}
	if err := checkPrefix(in, old); err != nil {
		return nil, err
	}
	if in.config.OS != "" && nb.config.OS != "" &&
		(in.config.OS != nb.config.OS || in.config.Architecture != nb.config.Architecture) {
		return nil, fmt.Errorf("the new base %s is for %s/%s, the image for %s/%s; cannot rebase",
			nb.digest, nb.config.OS, nb.config.Architecture, in.config.OS, in.config.Architecture)
	}
	n := len(old.layers)

	// Config: patch rootfs, history and base labels into img's raw config.
	diffIDs := append(append([]v1.Hash{}, nb.diffIDs...), in.diffIDs[n:]...)
	var history []v1.History
	if len(in.config.History) > 0 {
		history = append(baseHistory(nb), historyAfterBase(in.config.History, old.config.History, n)...)
	}
	labels := in.config.Config.Labels
	if _, ok := labels[baseDigestAnnotation]; ok || (o.BaseName != "" && labels[baseNameAnnotation] != "") {
		labels = copyMap(labels)
		if _, ok := labels[baseDigestAnnotation]; ok {
			labels[baseDigestAnnotation] = nb.digest.String()
		}
		if o.BaseName != "" && labels[baseNameAnnotation] != "" {
			labels[baseNameAnnotation] = o.BaseName
		}
	}
	rawConfig, err := patchConfig(in.rawConfig, diffIDs, history, labels)
	if err != nil {
		return nil, fmt.Errorf("image config: %v", err)
	}
	cfgDesc := v1.Descriptor{
		MediaType: in.manifest.Config.MediaType,
		Size:      int64(len(rawConfig)),
		Digest:    sha256Hash(rawConfig),
	}

	// Manifest: same document with the new config, layers and annotations.
	manifestType := in.mediaType
	var layerDescs []v1.Descriptor
	for _, d := range nb.manifest.Layers {
		d.MediaType = layerTypeFor(manifestType, d.MediaType)
		layerDescs = append(layerDescs, d)
	}
	layerDescs = append(layerDescs, in.manifest.Layers[n:]...)
	annotations := in.manifest.Annotations
	if manifestType == types.OCIManifestSchema1 || len(annotations) > 0 {
		annotations = copyMap(annotations)
		annotations[baseDigestAnnotation] = nb.digest.String()
		if o.BaseName != "" {
			annotations[baseNameAnnotation] = o.BaseName
		}
	}
	rawManifest, err := patchManifest(in.rawManifest, cfgDesc, layerDescs, annotations)
	if err != nil {
		return nil, fmt.Errorf("image manifest: %v", err)
	}

	byDigest := map[v1.Hash]v1.Layer{}
	for i, l := range nb.layers {
		byDigest[nb.manifest.Layers[i].Digest] = l
	}
	for i, l := range in.layers[n:] {
		byDigest[in.manifest.Layers[n+i].Digest] = l
	}
	return &rebased{
		rawConfig: rawConfig, rawManifest: rawManifest, mediaType: manifestType,
		configType: cfgDesc.MediaType, layers: byDigest,
	}, nil
}

// Onto rebases img onto the image newBaseRef names (any form imageref
// loads). The old base is found from the image's base.name/base.digest
// annotations (or labels) and loaded pinned to its digest; the platform
// defaults to the image's own.
func Onto(ctx context.Context, img v1.Image, newBaseRef string, o imageref.Options) (v1.Image, error) {
	oldRef, err := OldBaseRef(img)
	if err != nil {
		return nil, err
	}
	return From(ctx, img, oldRef, newBaseRef, o)
}

// From is Onto with the old base given explicitly.
func From(ctx context.Context, img v1.Image, oldBaseRef, newBaseRef string, o imageref.Options) (v1.Image, error) {
	if o.Platform == nil {
		if cf, err := img.ConfigFile(); err == nil && cf.OS != "" {
			// The variant only where it tells images apart (arm/v6 vs
			// arm/v7); arm64 configs and index entries disagree on "v8".
			o.Platform = &v1.Platform{OS: cf.OS, Architecture: cf.Architecture}
			if cf.Architecture == "arm" {
				o.Platform.Variant = cf.Variant
			}
		}
	}
	oldBase, err := imageref.Load(ctx, oldBaseRef, o)
	if err != nil {
		return nil, fmt.Errorf("loading the old base: %w", err)
	}
	newBase, err := imageref.Load(ctx, newBaseRef, o)
	if err != nil {
		return nil, fmt.Errorf("loading the new base: %w", err)
	}
	baseName, err := imageref.BaseName(newBaseRef)
	if err != nil {
		return nil, err
	}
	return Image(img, oldBase, newBase, Options{BaseName: baseName})
}

// OldBaseRef is the reference of the image img was built on, from its
// base.name and base.digest manifest annotations or else config labels,
// pinned to the digest when there is one.
func OldBaseRef(img v1.Image) (string, error) {
	var nameV, digestV string
	if m, err := img.Manifest(); err == nil {
		nameV, digestV = m.Annotations[baseNameAnnotation], m.Annotations[baseDigestAnnotation]
	}
	if nameV == "" {
		if cf, err := img.ConfigFile(); err == nil {
			nameV, digestV = cf.Config.Labels[baseNameAnnotation], cf.Config.Labels[baseDigestAnnotation]
		}
	}
	if nameV == "" {
		return "", fmt.Errorf("the image does not record its base (no %s annotation or label); name the old base explicitly", baseNameAnnotation)
	}
	if digestV == "" {
		return nameV, nil
	}
	h, err := v1.NewHash(digestV)
	if err != nil {
		return "", fmt.Errorf("the image's %s %q is not a digest: %v", baseDigestAnnotation, digestV, err)
	}
	ref, err := imageref.PinDigest(nameV, h)
	if err != nil {
		return "", fmt.Errorf("the image's %s %q: %v", baseNameAnnotation, nameV, err)
	}
	return ref, nil
}

// imageParts is what Image needs of one image.
type imageParts struct {
	digest      v1.Hash
	mediaType   types.MediaType
	rawManifest []byte
	manifest    *v1.Manifest
	rawConfig   []byte
	config      *v1.ConfigFile
	layers      []v1.Layer
	diffIDs     []v1.Hash
}

func readParts(img v1.Image) (*imageParts, error) {
	p := &imageParts{}
	var err error
	if p.digest, err = img.Digest(); err != nil {
		return nil, err
	}
	if p.mediaType, err = img.MediaType(); err != nil {
		return nil, err
	}
	if p.rawManifest, err = img.RawManifest(); err != nil {
		return nil, err
	}
	if p.manifest, err = img.Manifest(); err != nil {
		return nil, err
	}
	if p.rawConfig, err = img.RawConfigFile(); err != nil {
		return nil, err
	}
	if p.config, err = img.ConfigFile(); err != nil {
		return nil, err
	}
	if p.layers, err = img.Layers(); err != nil {
		return nil, err
	}
	if len(p.layers) != len(p.manifest.Layers) {
		return nil, fmt.Errorf("%s: manifest lists %d layers, image has %d", p.digest, len(p.manifest.Layers), len(p.layers))
	}
	if len(p.config.RootFS.DiffIDs) != len(p.layers) {
		return nil, fmt.Errorf("%s: config lists %d diff_ids for %d layers", p.digest, len(p.config.RootFS.DiffIDs), len(p.layers))
	}
	p.diffIDs = p.config.RootFS.DiffIDs
	return p, nil
}

// checkPrefix verifies that old's layers are img's first layers, by diffID
// (content) and by digest (the very blobs: a recompressed copy would not
// let the result reuse them).
func checkPrefix(img, old *imageParts) error {
	n := len(old.layers)
	fail := func(why string) error {
		return fmt.Errorf("the image's first %d layers are not %s's layers (%s); cannot rebase", n, old.digest, why)
	}
	if len(img.layers) < n {
		return fail(fmt.Sprintf("the image has only %d layers", len(img.layers)))
	}
	for i := 0; i < n; i++ {
		if img.diffIDs[i] != old.diffIDs[i] {
			return fail(fmt.Sprintf("layer %d differs: diffID %s, the old base has %s", i, img.diffIDs[i], old.diffIDs[i]))
		}
		if a, b := img.manifest.Layers[i].Digest, old.manifest.Layers[i].Digest; a != b {
			return fail(fmt.Sprintf("layer %d differs: digest %s, the old base has %s (same content, compressed differently)", i, a, b))
		}
	}
	return nil
}

// baseHistory is the new base's history, or one entry per layer when the
// base has none that matches its layers (history must pair with layers).
func baseHistory(nb *imageParts) []v1.History {
	nonEmpty := 0
	for _, h := range nb.config.History {
		if !h.EmptyLayer {
			nonEmpty++
		}
	}
	if nonEmpty == len(nb.layers) {
		return append([]v1.History{}, nb.config.History...)
	}
	out := make([]v1.History, len(nb.layers))
	for i := range out {
		out[i] = v1.History{CreatedBy: fmt.Sprintf("layer %d of base %s", i, nb.digest)}
	}
	return out
}

// historyAfterBase drops the old base's entries from the image's history:
// exactly the old base's entries when the image's history starts with them,
// else everything up to the entry of the n-th layer.
func historyAfterBase(h, oldH []v1.History, n int) []v1.History {
	if len(h) >= len(oldH) {
		same := true
		for i := range oldH {
			if h[i].CreatedBy != oldH[i].CreatedBy || h[i].EmptyLayer != oldH[i].EmptyLayer {
				same = false
				break
			}
		}
		if same {
			return append([]v1.History{}, h[len(oldH):]...)
		}
	}
	if n == 0 {
		return append([]v1.History{}, h...)
	}
	seen := 0
	for i, e := range h {
		if !e.EmptyLayer {
			seen++
			if seen == n {
				return append([]v1.History{}, h[i+1:]...)
			}
		}
	}
	return nil
}

// patchConfig replaces rootfs, history and config.Labels in a raw config,
// keeping every other field as it was.
func patchConfig(raw []byte, diffIDs []v1.Hash, history []v1.History, labels map[string]string) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	rootfs, err := json.Marshal(v1.RootFS{Type: "layers", DiffIDs: diffIDs})
	if err != nil {
		return nil, err
	}
	top["rootfs"] = rootfs
	if len(history) > 0 {
		if top["history"], err = json.Marshal(history); err != nil {
			return nil, err
		}
	} else {
		delete(top, "history")
	}
	if labels != nil {
		var cfg map[string]json.RawMessage
		if c, ok := top["config"]; ok && string(c) != "null" {
			if err := json.Unmarshal(c, &cfg); err != nil {
				return nil, fmt.Errorf("config: %v", err)
			}
		}
		if cfg == nil {
			cfg = map[string]json.RawMessage{}
		}
		if cfg["Labels"], err = json.Marshal(labels); err != nil {
			return nil, err
		}
		if top["config"], err = json.Marshal(cfg); err != nil {
			return nil, err
		}
	}
	return json.Marshal(top)
}

// patchManifest replaces config, layers and annotations in a raw manifest.
func patchManifest(raw []byte, cfg v1.Descriptor, layers []v1.Descriptor, annotations map[string]string) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	var err error
	if top["config"], err = json.Marshal(cfg); err != nil {
		return nil, err
	}
	if layers == nil {
		layers = []v1.Descriptor{}
	}
	if top["layers"], err = json.Marshal(layers); err != nil {
		return nil, err
	}
	if len(annotations) > 0 {
		if top["annotations"], err = json.Marshal(annotations); err != nil {
			return nil, err
		}
	}
	return json.Marshal(top)
}

// layerTypeFor maps a layer media type to the family of the manifest that
// will list it, for the types whose blobs are the same bytes in both
// (a Docker base under an OCI image, or the reverse); others are kept.
func layerTypeFor(manifest, layer types.MediaType) types.MediaType {
	switch manifest {
	case types.OCIManifestSchema1:
		switch layer {
		case types.DockerLayer:
			return types.OCILayer
		case types.DockerUncompressedLayer:
			return types.OCIUncompressedLayer
		}
	case types.DockerManifestSchema2:
		switch layer {
		case types.OCILayer:
			return types.DockerLayer
		case types.OCIUncompressedLayer:
			return types.DockerUncompressedLayer
		}
	}
	return layer
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sha256Hash(b []byte) v1.Hash {
	h, _, _ := v1.SHA256(bytes.NewReader(b))
	return h
}

// rebased is the result image: new documents over the existing layer
// objects. It implements v1.Image itself (rather than through ggcr's
// partial helpers) so that the layers are handed out unwrapped: a layer from
// a registry stays a remote.MountableLayer, which remote.Write mounts across
// repositories instead of uploading.
type rebased struct {
	rawConfig, rawManifest []byte
	mediaType, configType  types.MediaType
	layers                 map[v1.Hash]v1.Layer
}

var _ v1.Image = (*rebased)(nil)

func (r *rebased) RawConfigFile() ([]byte, error)      { return r.rawConfig, nil }
func (r *rebased) MediaType() (types.MediaType, error) { return r.mediaType, nil }
func (r *rebased) RawManifest() ([]byte, error)        { return r.rawManifest, nil }
func (r *rebased) Size() (int64, error)                { return int64(len(r.rawManifest)), nil }
func (r *rebased) Digest() (v1.Hash, error)            { return sha256Hash(r.rawManifest), nil }
func (r *rebased) ConfigName() (v1.Hash, error)        { return sha256Hash(r.rawConfig), nil }
func (r *rebased) ConfigFile() (*v1.ConfigFile, error) {
	return v1.ParseConfigFile(bytes.NewReader(r.rawConfig))
}
func (r *rebased) Manifest() (*v1.Manifest, error) {
	return v1.ParseManifest(bytes.NewReader(r.rawManifest))
}

func (r *rebased) Layers() ([]v1.Layer, error) {
	m, err := r.Manifest()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, 0, len(m.Layers))
	for _, d := range m.Layers {
		l, err := r.LayerByDigest(d.Digest)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func (r *rebased) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	if l, ok := r.layers[h]; ok {
		return l, nil
	}
	if h == sha256Hash(r.rawConfig) {
		return static.NewLayer(r.rawConfig, r.configType), nil
	}
	return nil, fmt.Errorf("blob %s is not part of the rebased image", h)
}

func (r *rebased) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	cf, err := r.ConfigFile()
	if err != nil {
		return nil, err
	}
	m, err := r.Manifest()
	if err != nil {
		return nil, err
	}
	for i, d := range cf.RootFS.DiffIDs {
		if d == h && i < len(m.Layers) {
			return r.LayerByDigest(m.Layers[i].Digest)
		}
	}
	return nil, fmt.Errorf("no layer with diffID %s in the rebased image", h)
}
