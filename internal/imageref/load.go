package imageref

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// RefNameAnnotation is the index.json annotation that names an image in an
// OCI layout (its "tag").
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// Load resolves s (see the package comment for the accepted forms) to one
// image. Multi-platform indexes are narrowed to o.Platform.
func Load(ctx context.Context, s string, o Options) (v1.Image, error) {
	l, err := parse(s, o, false)
	if err != nil {
		return nil, err
	}
	var img v1.Image
	switch l.kind {
	case kindLayout:
		img, err = loadLayout(l, o)
	case kindArchive:
		img, err = loadArchive(l)
	default:
		img, err = loadRegistry(ctx, l, o)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.form(), err)
	}
	return img, nil
}

// loadLayout picks the image from an OCI layout: by digest, by ref.name, the
// only one, or by platform when every entry is one platform's image.
func loadLayout(l location, o Options) (v1.Image, error) {
	if _, err := os.Stat(filepath.Join(l.path, "index.json")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, derr := os.Stat(l.path); derr != nil {
				return nil, syscall.ENOENT // "no such file or directory", as for every missing path
			}
			return nil, fmt.Errorf("no index.json")
		}
		return nil, err
	}
	root, err := layout.Path(l.path).ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading index.json: %v", err)
	}
	im, err := root.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading index.json: %v", err)
	}
	want := o.platform()

	switch {
	case l.digest != nil:
		idx, d, ok, err := findDigest(root, *l.digest)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("no manifest %s in index.json (available: %s)", l.digest, describeEntries(im.Manifests))
		}
		return resolveDescriptor(idx, d, want)

	case l.tag != "":
		var matches []v1.Descriptor
		for _, d := range im.Manifests {
			if refNameMatches(d.Annotations[RefNameAnnotation], l.tag) {
				matches = append(matches, d)
			}
		}
		switch len(matches) {
		case 0:
			return nil, fmt.Errorf("no image tagged %q in index.json (available: %s)", l.tag, describeEntries(im.Manifests))
		case 1:
			return resolveDescriptor(root, matches[0], want)
		}
		d, err := pickUniquePlatform(matches, want, configPlatform(root))
		if err != nil {
			return nil, fmt.Errorf("tag %q: %v", l.tag, err)
		}
		return resolveDescriptor(root, d, want)

	default:
		switch len(im.Manifests) {
		case 0:
			return nil, fmt.Errorf("index.json lists no images")
		case 1:
			return resolveDescriptor(root, im.Manifests[0], want)
		}
		for _, d := range im.Manifests {
			if !d.MediaType.IsImage() {
				return nil, fmt.Errorf("index.json holds %d entries; select one with %s%s:TAG or @DIGEST (available: %s)",
					len(im.Manifests), LayoutPrefix, l.path, describeEntries(im.Manifests))
			}
		}
		d, err := pickUniquePlatform(im.Manifests, want, configPlatform(root))
		if err != nil {
			return nil, fmt.Errorf("index.json holds %d images and %v; select select one with %s%s:TAG or @DIGEST (available: %s)",
				len(im.Manifests), err, LayoutPrefix, l.path, describeEntries(im.Manifests))
		}
		return resolveDescriptor(root, d, want)
	}
}

// refNameMatches accepts a bare tag ("v1") and the full-reference style some
// tools write ("registry/app:v1").
func refNameMatches(refName, tag string) bool {
	return refName != "" && (refName == tag || strings.HasSuffix(refName, ":"+tag))
}

// configPlatform reads an image's platform from its config, for index
// entries that do not state one.
func configPlatform(idx v1.ImageIndex) func(v1.Descriptor) (*v1.Platform, error) {
	return func(d v1.Descriptor) (*v1.Platform, error) {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("image %s: %v", d.Digest, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("image %s: config: %v", d.Digest, err)
		}
		return cf.Platform(), nil
	}
}

// resolveDescriptor loads d from idx; an index is narrowed to want.
func resolveDescriptor(idx v1.ImageIndex, d v1.Descriptor, want v1.Platform) (v1.Image, error) {
	for depth := 0; depth < 8; depth++ {
		switch {
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("image %s: %v", d.Digest, err)
			}
			return img, nil
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("index %s: %v", d.Digest, err)
			}
			cm, err := child.IndexManifest()
			if err != nil {
				return nil, fmt.Errorf("index %s: %v", d.Digest, err)
			}
			next, err := pickPlatform(cm.Manifests, want, configPlatform(child))
			if err != nil {
				return nil, fmt.Errorf("index %s: %v", d.Digest, err)
			}
			idx, d = child, next
		default:
			return nil, fmt.Errorf("manifest %s has unsupported media type %q", d.Digest, d.MediaType)
		}
	}
	return nil, fmt.Errorf("indexes nested too deeply")
}

// findDigest looks for h among idx's entries and, recursively, its child
// indexes; it returns the index holding the entry.
func findDigest(idx v1.ImageIndex, h v1.Hash) (v1.ImageIndex, v1.Descriptor, bool, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, v1.Descriptor{}, false, err
	}
	for _, d := range im.Manifests {
		if d.Digest == h {
			return idx, d, true, nil
		}
	}
	for _, d := range im.Manifests {
		if !d.MediaType.IsIndex() {
			continue
		}
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, v1.Descriptor{}, false, fmt.Errorf("index %s: %v", d.Digest, err)
		}
		if ci, cd, ok, err := findDigest(child, h); err != nil || ok {
			return ci, cd, ok, err
		}
	}
	return nil, v1.Descriptor{}, false, nil
}

// describeEntries lists index entries for error messages: tags when present,
// else short digests with platforms.
func describeEntries(descs []v1.Descriptor) string {
	if len(descs) == 0 {
		return "none"
	}
	var out []string
	for _, d := range descs {
		s := d.Digest.String()
		if n := d.Annotations[RefNameAnnotation]; n != "" {
			s = n + " (" + s + ")"
		}
		if d.Platform != nil {
			s += " " + platformString(d.Platform)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// loadArchive reads a `docker save` tarball, by REPO:TAG when there are several.
func loadArchive(l location) (v1.Image, error) {
	if _, err := os.Stat(l.path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, syscall.ENOENT
		}
		return nil, err
	}
	var tag *name.Tag
	if l.tag != "" {
		t, err := name.NewTag(l.tag)
		if err != nil {
			return nil, fmt.Errorf("invalid REPO:TAG %q: %v", l.tag, err)
		}
		tag = &t
	}
	img, err := tarball.ImageFromPath(l.path, tag)
	if err != nil {
		if strings.Contains(err.Error(), "manifest.json") {
			return nil, fmt.Errorf("not a docker-archive (no manifest.json; an OCI archive must be extracted and read as %sDIR): %v", LayoutPrefix, err)
		}
		return nil, err
	}
	// Fail now, with this form in the message, rather than at first use.
	if _, err := img.ConfigFile(); err != nil {
		return nil, fmt.Errorf("config: %v", err)
	}
	return img, nil
}

func remoteOptions(ctx context.Context, o Options) []remote.Option {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithPlatform(o.platform()),
	}
	if o.Transport != nil {
		opts = append(opts, remote.WithTransport(o.Transport))
	}
	return opts
}

// loadRegistry fetches the manifest (or index, narrowed to the platform).
func loadRegistry(ctx context.Context, l location, o Options) (v1.Image, error) {
	desc, err := remote.Get(l.ref, remoteOptions(ctx, o)...)
	if err != nil {
		return nil, err
	}
	switch {
	case desc.MediaType.IsImage():
		return desc.Image()
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		d, err := pickPlatform(im.Manifests, o.platform(), configPlatform(idx))
		if err != nil {
			return nil, err
		}
		return resolveDescriptor(idx, d, o.platform())
	default:
		return nil, fmt.Errorf("unsupported manifest media type %q", desc.MediaType)
	}
}
