package store

import (
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// V1Image returns a stored image as a go-containerregistry image read
// from the store's blobs (manifest, config, compressed layers), for what
// reads whole images: inspect's layer report (the web console's image
// page).
func (s *Store) V1Image(nameOrDigest string) (v1.Image, error) {
	img, err := s.Get(nameOrDigest)
	if err != nil {
		return nil, err
	}
	raw, err := s.readBlob(img.Digest)
	if err != nil {
		return nil, fmt.Errorf("image %s: manifest: %w", img.Digest, err)
	}
	var m struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("image %s: manifest: %w", img.Digest, err)
	}
	if m.MediaType == "" {
		m.MediaType = types.OCIManifestSchema1
	}
	core := &storedImage{s: s, img: img, manifest: raw, mediaType: m.MediaType}
	return partial.CompressedToImage(core)
}

func (s *Store) readBlob(ds string) ([]byte, error) {
	f, err := s.openBlob(ds)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// storedImage is partial.CompressedImageCore over the store's blobs.
type storedImage struct {
	s         *Store
	img       Image
	manifest  []byte
	mediaType types.MediaType
}

func (i *storedImage) RawConfigFile() ([]byte, error)      { return i.s.readBlob(i.img.ConfigDigest) }
func (i *storedImage) MediaType() (types.MediaType, error) { return i.mediaType, nil }
func (i *storedImage) RawManifest() ([]byte, error)        { return i.manifest, nil }

func (i *storedImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, l := range i.img.Layers {
		if l.Digest == h.String() {
			return storedLayer{s: i.s, l: l, h: h}, nil
		}
	}
	if h.String() == i.img.ConfigDigest {
		raw, err := i.RawConfigFile()
		if err != nil {
			return nil, err
		}
		return partial.ConfigLayer(&configOnly{raw: raw})
	}
	return nil, fmt.Errorf("image %s has no layer %s", i.img.Digest, h)
}

type configOnly struct{ raw []byte }

func (c *configOnly) RawConfigFile() ([]byte, error) { return c.raw, nil }

// storedLayer is one of a stored image's layer blobs.
type storedLayer struct {
	s *Store
	l LayerInfo
	h v1.Hash
}

func (l storedLayer) Digest() (v1.Hash, error)           { return l.h, nil }
func (l storedLayer) Compressed() (io.ReadCloser, error) { return l.s.openBlob(l.l.Digest) }
func (l storedLayer) Size() (int64, error)               { return l.l.Size, nil }
func (l storedLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.l.MediaType), nil
}
