package main

import (
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// imgSize is an image as the registry stores it. Every tool's image is read
// back from the same registry in the same way, so the numbers compare.
type imgSize struct {
	Ref       string `json:"ref"`
	Digest    string `json:"digest"`
	MediaType string `json:"media_type"`
	Layers    int    `json:"layers"`
	Manifest  int64  `json:"manifest_bytes"`
	Config    int64  `json:"config_bytes"`
	// Compressed is manifest + config + every layer blob: what a pull of
	// the whole image transfers.
	Compressed int64 `json:"compressed_bytes"`
	// Uncompressed is the sum of the layers' tar streams.
	Uncompressed int64 `json:"uncompressed_bytes"`
	// Own* count only the layers whose content (DiffID) is not in the base
	// image: the app's layers. (Docker recompresses the base's layers when
	// it pushes, so their blob digests differ from berth's; the DiffIDs do
	// not.)
	OwnLayers     int     `json:"own_layers"`
	OwnCompressed int64   `json:"own_compressed_bytes"`
	LayerList     []layer `json:"layers_detail"`
}

type layer struct {
	Digest       string `json:"digest"`
	DiffID       string `json:"diff_id"`
	Size         int64  `json:"size"`
	Uncompressed int64  `json:"uncompressed_size"`
}

func (s imgSize) diffIDs() map[string]bool {
	m := map[string]bool{}
	for _, l := range s.LayerList {
		m[l.DiffID] = true
	}
	return m
}

// measureImage reads ref's manifest and config and streams every layer
// through gunzip to count its uncompressed size.
func measureImage(ctx context.Context, ref string, base map[string]bool) (imgSize, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return imgSize{}, fmt.Errorf("%s: %w", ref, err)
	}
	desc, err := remote.Get(r, remote.WithContext(ctx))
	if err != nil {
		return imgSize{}, fmt.Errorf("%s: %w", ref, err)
	}
	img, err := desc.Image()
	if err != nil {
		return imgSize{}, fmt.Errorf("%s: %w", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return imgSize{}, fmt.Errorf("%s manifest: %w", ref, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return imgSize{}, fmt.Errorf("%s config: %w", ref, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return imgSize{}, fmt.Errorf("%s: %d layers but %d diff_ids in the config", ref, len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	s := imgSize{Ref: ref, Digest: desc.Digest.String(), MediaType: string(desc.MediaType),
		Manifest: desc.Size, Config: m.Config.Size, Layers: len(m.Layers)}
	s.Compressed = s.Manifest + s.Config
	for i, l := range m.Layers {
		s.Compressed += l.Size
		diffID := cfg.RootFS.DiffIDs[i].String()
		s.LayerList = append(s.LayerList, layer{Digest: l.Digest.String(), DiffID: diffID, Size: l.Size})
		if !base[diffID] {
			s.OwnLayers++
			s.OwnCompressed += l.Size
		}
	}
	layers, err := img.Layers()
	if err != nil {
		return imgSize{}, fmt.Errorf("%s layers: %w", ref, err)
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return imgSize{}, fmt.Errorf("%s layer: %w", ref, err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return imgSize{}, fmt.Errorf("%s layer: %w", ref, err)
		}
		s.Uncompressed += n
		s.LayerList[i].Uncompressed = n
	}
	return s, nil
}
