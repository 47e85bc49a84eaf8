package cliflag

import (
	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/stack"
)

// Spec is the flags of the commands that read berth.yaml (build, lock,
// promote): -f, --set, --context, and build's --dockerfile.
type Spec struct {
	File       string
	Set        []string
	Dockerfile string // import this Dockerfile instead of berth.yaml
	// Root widens what the file may read (--context DIR); "" = the
	// file's directory.
	Root string
}

// Add registers -f, --set and --context.
func (f *Spec) Add(fl *pflag.FlagSet) {
	fl.StringVarP(&f.File, "file", "f", "berth.yaml", "berth.yaml to read")
	fl.StringArrayVar(&f.Set, "set", nil, "set a variable: --set KEY=VALUE (repeatable; overrides vars: and the environment)")
	fl.StringVar(&f.Root, "context", "", "the directory the file may read from, and its build context unless it sets context: (default: the file's directory; the file's context:, sources, base images and keyrings must stay inside it)")
}

// AddDockerfile registers build's --dockerfile.
func (f *Spec) AddDockerfile(fl *pflag.FlagSet) {
	fl.StringVar(&f.Dockerfile, "dockerfile", "", "import this Dockerfile (FROM, COPY, ADD, ENV, ARG, ... but no RUN) instead of berth.yaml; its image is named \"image\"")
}

// Load reads the file the flags name with their variables: the
// Dockerfile, else berth.yaml (refusing `berth config` output).
func (f *Spec) Load() (*spec.File, error) {
	set, err := ParseSet(f.Set)
	if err != nil {
		return nil, err
	}
	if f.Dockerfile != "" {
		return spec.FromDockerfile(f.Dockerfile, f.Root, set)
	}
	if err := stack.RefusePrinted(f.File); err != nil {
		return nil, err
	}
	return spec.Load(f.File, spec.LoadOptions{Set: set, Root: f.Root})
}
