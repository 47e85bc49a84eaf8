// Package promote copies an image, by digest, from one registry repository
// to another (one environment's registry to the next one's) and records the
// promotion next to it as an OCI referrer. Nothing is rebuilt or
// re-encoded: the manifest bytes travel as they are, so the digest that was
// tested is the digest that runs.
package promote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/progress"
)

// Options says what to promote where.
type Options struct {
	// Src is the image to promote: a registry reference with a tag or a
	// digest. Dst is where it goes: a reference with a tag (the image is
	// stored by digest, then tagged) or with the source's digest.
	Src, Dst string
	// Insecure allows plain HTTP to registries other than loopback ones
	// (loopback registries always speak plain HTTP, as elsewhere in berth).
	Insecure bool
	// Transport is the HTTP transport for both registries (nil: ggcr's
	// default).
	Transport http.RoundTripper
	// Keychain supplies credentials (nil: the docker config keychain, as
	// internal/imageref uses).
	Keychain authn.Keychain
	// Record is what the provenance record says beyond the refs and digest.
	Record Provenance
	// Gate, when set, is the target environment's policy: the source
	// image (by digest) is checked against it before anything is written
	// to the target. The evidence it checks is the source's, which the
	// promotion then copies. Its creator closes it.
	Gate *policy.Gate
	// Progress, when set, receives each layer's progress: bytes copied,
	// or already in the target, or mounted there.
	Progress progress.Func
}

// Result is what a promotion did.
type Result struct {
	Digest string `json:"digest"` // the promoted manifest's digest, the same at Src and Dst
	Src    string `json:"src"`    // the source, pinned to Digest
	Dst    string `json:"dst"`    // the destination as given (tag or digest)
	// Every blob the image needs is counted exactly once, in one of three:
	// BlobsCopied the ones uploaded to the target repository, BlobsMounted
	// the ones it received by a cross-repository mount (within one
	// registry; no bytes move), BlobsSkipped the ones it already had.
	// BytesCopied is the size of the uploaded ones.
	BlobsCopied  int   `json:"blobsCopied"`
	BlobsMounted int   `json:"blobsMounted"`
	BlobsSkipped int   `json:"blobsSkipped"`
	BytesCopied  int64 `json:"bytesCopied"`
	// Provenance is the digest of the promotion record's manifest.
	Provenance string `json:"provenance"`
	// Referrers counts the referrer manifests copied (signatures, SBOMs,
	// provenance, scan results, and their own referrers); TagArtifacts the
	// cosign tag-schema tags copied (sha256-<hex>.sig, .att, .sbom).
	Referrers    int      `json:"referrers"`
	TagArtifacts []string `json:"tagArtifacts,omitempty"`
}

// Promote copies the manifest Src names (an image or an index, with every
// blob the target lacks) to Dst, unchanged, then records the promotion as a
// referrer of that manifest in Dst's repository.
func Promote(ctx context.Context, o Options) (Result, error) {
	var res Result
	src, err := parseRef(o.Src, o.Insecure)
	if err != nil {
		return res, fmt.Errorf("source: %w", err)
	}
	dst, err := parseRef(o.Dst, o.Insecure)
	if err != nil {
		return res, fmt.Errorf("destination: %w", err)
	}
	base := o.transport()
	srcOpts := o.remoteOptions(ctx, base)
	var tracker *progress.Tracker
	if o.Progress != nil {
		tracker = progress.NewTracker("promote", o.Dst, o.Progress)
	}
	host := dst.Context().RegistryStr()
	counter := &uploadCounter{base: tracker.Transport(base, host), host: host, uploaded: map[string]bool{}, mounted: map[string]bool{}}
	dstOpts := o.remoteOptions(ctx, counter)

	// Resolve once; everything after works on the digest, so the bytes
	// copied are the ones resolved even if the tag moves meanwhile.
	desc, err := remote.Get(src, srcOpts...)
	if err != nil {
		return res, describe(err, o.Src)
	}
	digest := desc.Digest
	pinned := src.Context().Digest(digest.String())
	res.Digest, res.Src, res.Dst = digest.String(), pinned.String(), o.Dst
	if d, ok := dst.(name.Digest); ok && d.DigestStr() != digest.String() {
		return res, fmt.Errorf("destination %s names digest %s but %s is %s", o.Dst, d.DigestStr(), o.Src, digest)
	}

	if o.Gate != nil {
		if err := o.Gate.Check(ctx, res.Src); err != nil {
			return res, err
		}
	}

	blobs, err := blobsOf(desc)
	if err != nil {
		return res, fmt.Errorf("reading %s: %w", res.Src, err)
	}
	dstByDigest := dst.Context().Digest(digest.String())
	switch {
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return res, err
		}
		err = remote.Write(dstByDigest, tracker.Image(img), dstOpts...)
		if err != nil {
			return res, fmt.Errorf("copying to %s: %w", dst.Context(), err)
		}
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return res, err
		}
		if err := remote.WriteIndex(dstByDigest, tracker.Index(idx), dstOpts...); err != nil {
			return res, fmt.Errorf("copying to %s: %w", dst.Context(), err)
		}
	default:
		return res, fmt.Errorf("%s is a %q manifest; promote copies images and image indexes", o.Src, desc.MediaType)
	}
	res.BlobsCopied, res.BlobsMounted, res.BytesCopied = counter.counts(blobs)
	res.BlobsSkipped = len(blobs) - res.BlobsCopied - res.BlobsMounted

	// The evidence goes before the tag: a target that refuses pulls of
	// unsigned tags (require_signature) serves the tag as soon as it moves.
	ev := &evidenceCopier{src: src.Context(), dst: dst.Context(), srcOpts: srcOpts, dstOpts: dstOpts, seen: map[v1.Hash]bool{digest: true}}
	if err := ev.referrers(digest, 1); err != nil {
		return res, err
	}
	if err := ev.tagSchema(digest); err != nil {
		return res, err
	}
	res.Referrers, res.TagArtifacts = ev.copied, ev.tags

	// A tag that moved while we copied means someone pushed to the source
	// meanwhile: the copy is still exactly what was resolved, but tagging it
	// in the target would promote something other than the tag's current
	// image without anyone noticing.
	if _, isTag := src.(name.Tag); isTag {
		now, err := remote.Head(src, srcOpts...)
		if err != nil {
			return res, describe(err, o.Src)
		}
		if now.Digest != digest {
			return res, fmt.Errorf("%s moved from %s to %s during the promotion; %s was not tagged (promote again, or promote %s)", o.Src, digest, now.Digest, o.Dst, res.Src)
		}
	}
	if tag, ok := dst.(name.Tag); ok {
		if err := remote.Tag(tag, desc, dstOpts...); err != nil {
			return res, fmt.Errorf("tagging %s: %w", o.Dst, err)
		}
	}
	got, err := remote.Head(dst, dstOpts...)
	if err != nil {
		return res, fmt.Errorf("checking %s: %w", o.Dst, err)
	}
	if got.Digest != digest {
		return res, fmt.Errorf("%s is %s after the promotion, not %s (did something else push to it?)", o.Dst, got.Digest, digest)
	}

	rec := o.Record.record(digest.String(), o.Src, o.Dst)
	pd, err := pushRecord(dst.Context(), v1.Descriptor{MediaType: desc.MediaType, Digest: digest, Size: desc.Size}, rec, dstOpts)
	if err != nil {
		return res, fmt.Errorf("%s promoted, but recording the provenance failed: %w", o.Dst, err)
	}
	res.Provenance = pd.String()
	return res, nil
}

func (o Options) transport() http.RoundTripper {
	if o.Transport != nil {
		return o.Transport
	}
	return remote.DefaultTransport
}

func (o Options) remoteOptions(ctx context.Context, tr http.RoundTripper) []remote.Option {
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc), remote.WithTransport(tr)}
}

// parseRef parses a registry reference; loopback registries get plain
// HTTP, like imageref does.
func parseRef(s string, insecure bool) (name.Reference, error) {
	if s == "" {
		return nil, errors.New("empty image reference")
	}
	ref, err := name.ParseReference(s, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("%q is not a registry reference with a tag or digest: %v", s, err)
	}
	if insecure || isLoopback(ref.Context().RegistryStr()) {
		return name.ParseReference(s, name.StrictValidation, name.Insecure)
	}
	return ref, nil
}

func isLoopback(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// describe turns "not found" answers into a message naming the reference.
func describe(err error, ref string) error {
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%s: no such image in the source registry (unknown tag, digest or repository)", ref)
	}
	return fmt.Errorf("%s: %w", ref, err)
}

// blobsOf lists the distributable blobs (configs and layers) a manifest
// needs, with their sizes, descending into an index's image manifests.
func blobsOf(desc *remote.Descriptor) (map[v1.Hash]int64, error) {
	blobs := map[v1.Hash]int64{}
	switch {
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return nil, err
		}
		return blobs, addImage(blobs, img)
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		return blobs, addIndex(blobs, idx, 0)
	}
	return blobs, nil
}

func addImage(blobs map[v1.Hash]int64, img v1.Image) error {
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	blobs[m.Config.Digest] = m.Config.Size
	for _, l := range m.Layers {
		if l.MediaType.IsDistributable() {
			blobs[l.Digest] = l.Size
		}
	}
	return nil
}

// maxIndexDepth bounds nested indexes: a hostile registry could otherwise
// keep us recursing.
const maxIndexDepth = 8

func addIndex(blobs map[v1.Hash]int64, idx v1.ImageIndex, depth int) error {
	if depth > maxIndexDepth {
		return fmt.Errorf("image indexes nested more than %d deep", maxIndexDepth)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return err
			}
			if err := addImage(blobs, img); err != nil {
				return err
			}
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return err
			}
			if err := addIndex(blobs, child, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// uploadCounter watches the requests to the target registry and notes
// which blobs were uploaded (an upload committed with PUT ...?digest=) and
// which were mounted from another repository (POST ...?mount= answered
// 201). It is what makes "only missing blobs were sent" observable rather
// than assumed.
type uploadCounter struct {
	base     http.RoundTripper
	host     string
	mu       sync.Mutex
	uploaded map[string]bool
	mounted  map[string]bool
}

func (c *uploadCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil || req.URL.Host != c.host || resp.StatusCode != http.StatusCreated || !strings.Contains(req.URL.Path, "/blobs/uploads/") {
		return resp, err
	}
	q := req.URL.Query()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case req.Method == http.MethodPut && q.Get("digest") != "":
		c.uploaded[q.Get("digest")] = true
	case req.Method == http.MethodPost && q.Get("mount") != "":
		c.mounted[q.Get("mount")] = true
	}
	return resp, err
}

// counts returns how many of blobs were uploaded to the target, how many
// (others) were mounted there, and the bytes uploaded.
func (c *uploadCounter) counts(blobs map[v1.Hash]int64) (uploaded, mounted int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, size := range blobs {
		switch {
		case c.uploaded[h.String()]:
			uploaded++
			bytes += size
		case c.mounted[h.String()]:
			mounted++
		}
	}
	return uploaded, mounted, bytes
}
