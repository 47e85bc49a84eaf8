package imageref

import (
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth-dev/berth/internal/progress"
)

// Write stores img at dest:
//
//	oci-layout:DIR[:TAG]               blobs are added, TAG replaces any entry of the same ref.name;
//	                                   index.json is replaced atomically (temp file + rename)
//	docker-archive:FILE.tar[:REPO:TAG] written to a temp file and renamed over FILE
//	registry reference                 pushed with ggcr remote.Write (skips blobs the
//	                                   registry has, mounts across repositories)
//
// An existing layout directory or a path ending in .tar is auto-detected.
func Write(ctx context.Context, img v1.Image, dest string, o Options) error {
	l, err := parse(dest, o, true)
	if err != nil {
		return err
	}
	switch l.kind {
	case kindLayout:
		if l.digest != nil {
			return fmt.Errorf("%s: an output layout takes an optional :TAG, not @DIGEST", dest)
		}
		err = writeLayout(img, l.path, l.tag)
	case kindArchive:
		err = writeArchive(img, l.path, l.tag)
	default:
		err = writeRegistry(ctx, img, l.ref, o)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", l.form(), err)
	}
	return nil
}

// writeArchive writes a docker-archive next to its destination and renames
// it into place, so a failed write never leaves a truncated tarball behind.
func writeArchive(img v1.Image, path, tag string) error {
	var ref name.Reference
	if tag != "" {
		t, err := name.NewTag(tag)
		if err != nil {
			return fmt.Errorf("invalid REPO:TAG %q: %v", tag, err)
		}
		ref = t
	} else {
		// A digest reference makes tarball write the image without RepoTags
		// (`docker load` then loads it untagged).
		d, err := img.Digest()
		if err != nil {
			return err
		}
		dr, err := name.NewDigest("image@" + d.String())
		if err != nil {
			return err
		}
		ref = dr
	}
	return replaceFile(path, true, func(w io.Writer) error { return tarball.Write(ref, img, w) })
}

// writeRegistry pushes img. ggcr's remote.Write HEADs every blob first and
// skips the ones the registry already has, so pushing a rebased or rebuilt
// image uploads only what is new.
func writeRegistry(ctx context.Context, img v1.Image, ref name.Reference, o Options) error {
	if d, ok := ref.(name.Digest); ok {
		got, err := img.Digest()
		if err != nil {
			return err
		}
		if got.String() != d.DigestStr() {
			return fmt.Errorf("the image's digest is %s, not %s", got, d.DigestStr())
		}
	}
	if o.Progress != nil {
		tr := progress.NewTracker("push", ref.String(), o.Progress)
		img = tr.Image(img)
		o.Transport = tr.Transport(o.Transport, ref.Context().RegistryStr())
	}
	opts := remoteOptions(ctx, o)
	if o.MountFrom != nil {
		if err := mountKnownLayers(img, ref, o.MountFrom, opts); err != nil {
			return err
		}
	}
	return remote.Write(ref, img, opts...)
}

// mountKnownLayers pushes, ahead of the image, every layer that another
// repository of the same registry is known to hold, as a cross-repository
// mount: the registry links the blob and no bytes travel. remote.Write then
// finds those layers present and skips them.
func mountKnownLayers(img v1.Image, ref name.Reference, mountFrom func(string, v1.Hash) string, opts []remote.Option) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	repo := ref.Context()
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		from := mountFrom(repo.RegistryStr(), d)
		if from == "" || from == repo.RepositoryStr() {
			continue
		}
		src, err := name.ParseReference(repo.RegistryStr()+"/"+from+"@"+d.String(), name.Insecure)
		if err != nil {
			continue
		}
		ml := &remote.MountableLayer{Layer: l, Reference: src}
		if err := remote.WriteLayer(repo, ml, opts...); err != nil {
			return fmt.Errorf("layer %s: %w", d, err)
		}
	}
	return nil
}
