package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/sbom"
	"github.com/berth-dev/berth/internal/spec"
)

// Evidence returns the SPDX and CycloneDX SBOMs and the SLSA provenance of
// image's variant, which s built (img): the inventory is read from the
// image once per digest (cached), the provenance from what the builder
// knows of its inputs.
func (s *SpecBuilder) Evidence(ctx context.Context, image, variant string, img v1.Image) ([]Predicate, error) {
	return BuildEvidence(ctx, s.B, image, variant, img, s.Version)
}

// BuildEvidence is Evidence for any build.Builder that built image.
func BuildEvidence(ctx context.Context, b *build.Builder, image, variant string, img v1.Image, version string) ([]Predicate, error) {
	name := image
	if variant != "" {
		name += "-" + variant
	}
	inv, err := sbom.ScanCached(img, name, sbom.CacheDir(b.CacheDir))
	if err != nil {
		return nil, err
	}
	in, err := BuildInputs(ctx, b, image, variant, img)
	if err != nil {
		return nil, err
	}
	m := sbom.Meta{Tool: version}
	spdx, err := sbom.SPDX(inv, m)
	if err != nil {
		return nil, err
	}
	cdx, err := sbom.CycloneDX(inv, m)
	if err != nil {
		return nil, err
	}
	prov, err := sbom.Provenance(inv, in, m)
	if err != nil {
		return nil, err
	}
	return []Predicate{{sbom.SPDXPredicateType, spdx}, {sbom.CycloneDXPredicateType, cdx}, {sbom.ProvenancePredicateType, prov}}, nil
}

// BuildInputs collects what b knows of the inputs of image's variant: the
// berth.yaml and berth.lock digests, each layer's source key (of the image
// and of the berth.yaml images it is based on), every locked .deb by
// SHA256 and an external base image by digest.
func BuildInputs(ctx context.Context, b *build.Builder, image, variant string, img v1.Image) (sbom.BuildInputs, error) {
	raw, err := os.ReadFile(b.File.Path)
	if err != nil {
		return sbom.BuildInputs{}, err
	}
	in := sbom.BuildInputs{ConfigPath: filepath.Base(b.File.Path), ConfigSHA256: sha256Hex(raw), Image: image, Variant: variant, Epoch: b.Epoch}
	if b.Lock != nil {
		raw, err := b.Lock.Bytes()
		if err != nil {
			return in, err
		}
		in.LockPath, in.LockSHA256 = filepath.Base(b.LockPath), sha256Hex(raw)
	}
	// The image and its berth.yaml bases (builds are memoised: no work).
	chain := map[string]string{} // image → variant whose layers it has
	for name, v := image, variant; ; {
		r, err := b.Build(ctx, name, v)
		if err != nil {
			return in, err
		}
		chain[name] = v
		for _, l := range r.Layers {
			if l.SourceKey != "" {
				in.Dependencies = append(in.Dependencies, sbom.Dependency{URI: "berth:layer/" + name + "/" + l.Name, Name: l.Kind,
					Digest: map[string]string{"sha256": l.SourceKey}})
			}
		}
		si, err := b.File.Image(name, v)
		if err != nil {
			return in, err
		}
		if si.FromKind != spec.FromImage {
			break
		}
		name, v = si.From, ""
	}
	if m, err := img.Manifest(); err == nil && m.Annotations[ocispec.AnnotationBaseImageDigest] != "" {
		if _, local := chain[m.Annotations[ocispec.AnnotationBaseImageName]]; !local {
			d := m.Annotations[ocispec.AnnotationBaseImageDigest]
			if hex, ok := strings.CutPrefix(d, "sha256:"); ok {
				in.Dependencies = append(in.Dependencies, sbom.Dependency{URI: "oci:" + m.Annotations[ocispec.AnnotationBaseImageName], Name: "base",
					Digest: map[string]string{"sha256": hex}})
			}
		}
	}
	if b.Lock != nil {
		for _, ll := range b.Lock.Layers {
			v, ok := chain[ll.Image]
			if !ok || ll.Variant != "" && ll.Variant != v {
				continue
			}
			for _, p := range ll.Packages {
				in.Dependencies = append(in.Dependencies, sbom.Dependency{URI: debURL(b.File, p), Name: p.Name + "_" + p.Version + "_" + p.Architecture + ".deb",
					Digest: map[string]string{"sha256": p.SHA256}})
			}
		}
	}
	return in, nil
}

// debURL is where a locked package was downloaded from.
func debURL(f *spec.File, p build.LockedPackage) string {
	i := slices.IndexFunc(f.Repositories, func(r spec.Repository) bool { return r.Name == p.Repository })
	if i < 0 {
		return fmt.Sprintf("deb:%s/%s", p.Repository, p.Filename)
	}
	return strings.TrimSuffix(f.Repositories[i].URL, "/") + "/" + strings.TrimPrefix(p.Filename, "/")
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
