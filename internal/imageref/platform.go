package imageref

import (
	"fmt"
	"runtime"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultPlatform is the platform used when Options.Platform is nil: linux
// on the host's architecture (images are Linux images even on a Mac).
func DefaultPlatform() v1.Platform {
	return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
}

func (o Options) platform() v1.Platform {
	if o.Platform != nil {
		return *o.Platform
	}
	return DefaultPlatform()
}

// ParsePlatform parses "os/arch[/variant]" (as `--platform` takes it).
func ParsePlatform(s string) (*v1.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("invalid platform %q: want os/arch[/variant], e.g. linux/amd64", s)
	}
	p := &v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// platformMatches: OS and architecture must be equal; a variant only counts
// when the caller asked for one (arm64 images often say "v8", users rarely do).
func platformMatches(want v1.Platform, have *v1.Platform) bool {
	if have == nil {
		return false
	}
	if want.OS != have.OS || want.Architecture != have.Architecture {
		return false
	}
	return want.Variant == "" || want.Variant == have.Variant
}

func platformString(p *v1.Platform) string {
	if p == nil {
		return "unknown"
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// pickPlatform returns the first descriptor whose platform matches want.
// platformOf supplies a platform for descriptors that carry none (e.g. by
// reading the image's config); it may be nil.
func pickPlatform(descs []v1.Descriptor, want v1.Platform, platformOf func(v1.Descriptor) (*v1.Platform, error)) (v1.Descriptor, error) {
	d, _, err := matchPlatform(descs, want, platformOf)
	return d, err
}

// pickUniquePlatform is pickPlatform for lists that are not one image per
// platform by construction (a layout's index.json): two matches are ambiguous.
func pickUniquePlatform(descs []v1.Descriptor, want v1.Platform, platformOf func(v1.Descriptor) (*v1.Platform, error)) (v1.Descriptor, error) {
	d, n, err := matchPlatform(descs, want, platformOf)
	if err == nil && n > 1 {
		return v1.Descriptor{}, fmt.Errorf("%d images are for platform %s", n, platformString(&want))
	}
	return d, err
}

// matchPlatform returns the first match and the number of matches.
func matchPlatform(descs []v1.Descriptor, want v1.Platform, platformOf func(v1.Descriptor) (*v1.Platform, error)) (v1.Descriptor, int, error) {
	var seen []string
	var first v1.Descriptor
	n := 0
	for _, d := range descs {
		p := d.Platform
		if p == nil && platformOf != nil && d.MediaType.IsImage() {
			var err error
			if p, err = platformOf(d); err != nil {
				return v1.Descriptor{}, 0, err
			}
		}
		if platformMatches(want, p) {
			if n == 0 {
				first = d
			}
			n++
		}
		seen = append(seen, platformString(p))
	}
	if n > 0 {
		return first, n, nil
	}
	sort.Strings(seen)
	return v1.Descriptor{}, 0, fmt.Errorf("no image for platform %s (available: %s); choose one with --platform", platformString(&want), strings.Join(seen, ", "))
}
