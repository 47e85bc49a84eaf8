package promote

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The evidence of an image — signatures, SBOMs, provenance, scan results —
// lives beside it in its repository: as OCI referrers (manifests whose
// subject is the image; cosign's bundle format, berth's attestations and
// promotion records) and, for tools and registries without the referrers
// API, under cosign's tag schema (sha256-<hex>.sig, .att, .sbom). Promote
// copies all of it, so the target environment verifies what the source
// verified.

// tagSchemaSuffixes are cosign's tag-schema artifacts of a digest.
var tagSchemaSuffixes = []string{".sig", ".att", ".sbom"}

// maxReferrerDepth bounds referrers of referrers (a signature of an SBOM
// attestation is depth 2); a hostile registry could otherwise loop us.
const maxReferrerDepth = 4

// maxReferrers bounds how many referrer manifests one promotion copies.
const maxReferrers = 1000

// evidenceCopier copies the referrers and tag-schema artifacts of a
// manifest from src to dst (two repositories), by digest, blobs the target
// lacks only (ggcr's writes check each blob first).
type evidenceCopier struct {
	src, dst         name.Repository
	srcOpts, dstOpts []remote.Option
	seen             map[v1.Hash]bool
	copied           int
	tags             []string
}

// referrers copies every referrer of subject, and theirs, depth-first.
func (c *evidenceCopier) referrers(subject v1.Hash, depth int) error {
	if depth > maxReferrerDepth {
		return nil
	}
	idx, err := remote.Referrers(c.src.Digest(subject.String()), c.srcOpts...)
	if err != nil {
		if isNotFound(err) {
			return nil // no referrers API and no fallback tag: nothing attached
		}
		return fmt.Errorf("listing the referrers of %s: %w", subject, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range im.Manifests {
		if c.seen[d.Digest] {
			continue
		}
		if len(c.seen) >= maxReferrers {
			return fmt.Errorf("%s has more than %d referrers (of referrers); not copying more", subject, maxReferrers)
		}
		c.seen[d.Digest] = true
		if err := c.manifest(d.Digest); err != nil {
			return fmt.Errorf("copying referrer %s (%s) of %s: %w", d.Digest, d.ArtifactType, subject, err)
		}
		c.copied++
		if err := c.referrers(d.Digest, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// tagSchema copies cosign's sha256-<hex>.sig/.att/.sbom tags of subject
// that exist in the source, and tags them alike in the target.
func (c *evidenceCopier) tagSchema(subject v1.Hash) error {
	for _, suffix := range tagSchemaSuffixes {
		tag := subject.Algorithm + "-" + subject.Hex + suffix
		desc, err := remote.Get(c.src.Tag(tag), c.srcOpts...)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return fmt.Errorf("reading %s:%s: %w", c.src, tag, err)
		}
		if err := c.write(desc); err != nil {
			return fmt.Errorf("copying %s:%s: %w", c.src, tag, err)
		}
		if err := remote.Tag(c.dst.Tag(tag), desc, c.dstOpts...); err != nil {
			return fmt.Errorf("tagging %s:%s: %w", c.dst, tag, err)
		}
		c.tags = append(c.tags, tag)
		// A signature of the signature manifest, and so on.
		if !c.seen[desc.Digest] {
			c.seen[desc.Digest] = true
			if err := c.referrers(desc.Digest, 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// manifest copies the manifest h of the source repository to the target,
// by digest.
func (c *evidenceCopier) manifest(h v1.Hash) error {
	desc, err := remote.Get(c.src.Digest(h.String()), c.srcOpts...)
	if err != nil {
		return err
	}
	return c.write(desc)
}

// write stores desc (an image, an index or another manifest) in the target
// by its digest, bytes unchanged.
func (c *evidenceCopier) write(desc *remote.Descriptor) error {
	dst := c.dst.Digest(desc.Digest.String())
	switch {
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return err
		}
		return remote.Write(dst, img, c.dstOpts...)
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return err
		}
		return remote.WriteIndex(dst, idx, c.dstOpts...)
	}
	return remote.Put(dst, typedManifest{raw: desc.Manifest, mt: desc.MediaType}, c.dstOpts...)
}

type typedManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m typedManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m typedManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

func isNotFound(err error) bool {
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.StatusCode == http.StatusNotFound || strings.Contains(terr.Error(), "MANIFEST_UNKNOWN")
	}
	return false
}
