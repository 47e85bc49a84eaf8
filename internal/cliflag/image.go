package cliflag

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/internal/imageref"
)

// Image is the image-loading flags inspect, diff and rebase share:
// --platform and --insecure.
type Image struct {
	Platform string
	Insecure bool
}

// Add registers the flags.
func (f *Image) Add(fl *pflag.FlagSet) {
	fl.StringVar(&f.Platform, "platform", "", "platform to pick from a multi-platform image, os/arch[/variant] (default linux/<host arch>)")
	fl.BoolVar(&f.Insecure, "insecure", false, "allow plain HTTP to registries (loopback registries always may)")
}

// Options are the imageref.Options the flags say.
func (f *Image) Options() (imageref.Options, error) {
	o := imageref.Options{Insecure: f.Insecure}
	if f.Platform != "" {
		p, err := imageref.ParsePlatform(f.Platform)
		if err != nil {
			return o, fmt.Errorf("--platform: %w", err)
		}
		o.Platform = p
	}
	return o, nil
}
