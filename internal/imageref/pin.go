package imageref

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PinDigest returns s narrowed to the manifest h, in a form Load accepts:
// "registry/repo@sha256:…" or "oci-layout:DIR@sha256:…". A docker-archive
// has no digest selector, so it comes back unchanged (callers verify the
// loaded image some other way, e.g. by comparing layers).
func PinDigest(s string, h v1.Hash) (string, error) {
	l, err := parse(s, Options{}, false)
	if err != nil {
		return "", err
	}
	switch l.kind {
	case kindLayout:
		return LayoutPrefix + l.path + "@" + h.String(), nil
	case kindArchive:
		return s, nil
	default:
		d, err := name.NewDigest(l.ref.Context().Name()+"@"+h.String(), name.WeakValidation)
		if err != nil {
			return "", fmt.Errorf("pinning %q to %s: %v", s, h, err)
		}
		return d.String(), nil
	}
}

// BaseName is what berth records as org.opencontainers.image.base.name for
// a base image given as s: a registry reference fully qualified and without
// a digest (the digest has its own annotation), a local form as given minus
// any @digest selector.
func BaseName(s string) (string, error) {
	l, err := parse(s, Options{}, false)
	if err != nil {
		return "", err
	}
	switch l.kind {
	case kindLayout:
		if l.tag != "" {
			return LayoutPrefix + l.path + ":" + l.tag, nil
		}
		return LayoutPrefix + l.path, nil
	case kindArchive:
		if l.tag != "" {
			return ArchivePrefix + l.path + ":" + l.tag, nil
		}
		return ArchivePrefix + l.path, nil
	default:
		if t, ok := l.ref.(name.Tag); ok {
			return t.Name(), nil
		}
		return l.ref.Context().Name(), nil
	}
}
