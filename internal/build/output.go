package build

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gcrname "github.com/google/go-containerregistry/pkg/name"

	"github.com/berth-dev/berth/internal/imageref"
)

// Output is where `berth build` writes what it built: at most one of a
// registry reference (or prefix), an OCI layout, a docker archive.
type Output struct {
	Push, OCILayout, DockerArchive string
	Tag                            string // with DockerArchive and a Push prefix
}

// Count is how many outputs are set.
func (o Output) Count() int {
	n := 0
	for _, s := range []string{o.Push, o.OCILayout, o.DockerArchive} {
		if s != "" {
			n++
		}
	}
	return n
}

// Destination is where image name goes, given whether several images
// are built ("" = nowhere).
func (o Output) Destination(name string, several bool) (string, error) {
	switch {
	case o.Push != "":
		if several {
			if !strings.HasSuffix(o.Push, "/") {
				return "", fmt.Errorf("--push %q: with several images, give a repository prefix ending in '/' (each image goes to PREFIX<image>:%s)", o.Push, o.Tag)
			}
			return o.Push + name + ":" + o.Tag, nil
		}
		return o.Push, nil
	case o.OCILayout != "":
		return imageref.LayoutPrefix + o.OCILayout + ":" + name, nil
	case o.DockerArchive != "":
		if several {
			return "", errors.New("--docker-archive takes one image; name the image to build")
		}
		return imageref.ArchivePrefix + o.DockerArchive + ":" + name + ":" + o.Tag, nil
	}
	return "", nil
}

// Written is one image BuildTo built, and where it went.
type Written struct {
	Name        string
	Result      *Result
	Destination string
}

// BuildTo builds the named images (their variant) and writes each to out,
// calling written after each. Every image is built before any is written,
// and the lock file is written only after everything is: a refused or
// failing image leaves the output and the lock as they were. lockWritten
// says whether the lock file was (re)written.
func (b *Builder) BuildTo(ctx context.Context, names []string, variant string, out Output, written func(Written)) (lockWritten bool, err error) {
	pushLog := OpenPushLog(b.CacheDir)
	wopts := b.RefOptions
	wopts.MountFrom = pushLog.MountFrom
	built := make([]*Result, len(names))
	for i, name := range names {
		r, err := b.Build(ctx, name, variant)
		if err != nil {
			return false, err
		}
		if _, err := out.Destination(name, len(names) > 1); err != nil {
			return false, err
		}
		built[i] = r
	}
	for i, name := range names {
		r := built[i]
		dest, err := out.Destination(name, len(names) > 1)
		if err != nil {
			return false, err
		}
		if dest != "" {
			if err := imageref.Write(ctx, r.Image, dest, wopts); err != nil {
				return false, fmt.Errorf("image %s: writing %s: %w", name, dest, err)
			}
			if out.Push != "" {
				if ref, err := gcrname.ParseReference(dest); err == nil {
					// Only a hint for later pushes: failing to save it is not an error.
					_ = pushLog.Record(ref.Context().RegistryStr(), ref.Context().RepositoryStr(), r.Image)
				}
				if b.Pushed != nil {
					if err := b.Pushed(ctx, Written{Name: name, Result: r, Destination: dest}); err != nil {
						return false, fmt.Errorf("image %s: %w", name, err)
					}
				}
			}
		}
		written(Written{Name: name, Result: r, Destination: dest})
	}
	if !b.LockChanged() {
		return false, nil
	}
	return true, b.Lock.Write(b.LockPath)
}
