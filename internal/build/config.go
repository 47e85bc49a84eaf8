package build

import (
	"maps"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/spec"
)

// applyConfig writes img's config over what the base image had (the rules
// are spec.Config.ApplyTo's), sets the platform and the reproducible
// creation time, and the manifest annotations.
func (b *Builder) applyConfig(cur v1.Image, img *spec.Image, plat platform, base baseInfo) (v1.Image, error) {
	cf, err := cur.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	c := img.Config
	cf.Config = c.ApplyTo(cf.Config)
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	cf.Created = v1.Time{Time: b.Epoch}
	cf.Author = ""
	out, err := mutate.ConfigFile(cur, cf)
	if err != nil {
		return nil, err
	}
	// Annotations: the base image's (for rebase) and the file's.
	ann := map[string]string{}
	if base.digest != "" {
		ann[ocispec.AnnotationBaseImageDigest] = base.digest
		// A base of the same file has no reference anyone could pull it
		// by (it is built, not pushed, with this image): name only real
		// references, which is what rebase loads.
		if !base.local {
			ann[ocispec.AnnotationBaseImageName] = base.name
		}
	}
	maps.Copy(ann, c.Annotations)
	if len(ann) > 0 {
		out = mutate.Annotations(out, ann).(v1.Image)
	}
	return out, nil
}
