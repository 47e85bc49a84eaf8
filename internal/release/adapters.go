package release

import (
	"context"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/spec"
)

// SpecBuilder is the Builder of berth's own image builder over a loaded
// berth.yaml; the lock file is written as soon as a build changed it.
type SpecBuilder struct {
	B *build.Builder
	// Version is berth's version, recorded as the provenance's builder.
	Version string
}

// NewSpecBuilder opens the CLI's builder for file (build.New: progress
// lines on progress when non-nil), recording version in the provenance.
func NewSpecBuilder(file *spec.File, progress io.Writer, version string) (*SpecBuilder, error) {
	b, err := build.New(file, progress)
	if err != nil {
		return nil, err
	}
	return &SpecBuilder{B: b, Version: version}, nil
}

// Build builds image's variant.
func (s *SpecBuilder) Build(ctx context.Context, image, variant string) (v1.Image, error) {
	r, err := s.B.Build(ctx, image, variant)
	if err != nil {
		return nil, err
	}
	if s.B.LockChanged() {
		if err := s.B.Lock.Write(s.B.LockPath); err != nil {
			return nil, err
		}
	}
	return r.Image, nil
}

// RemoteRegistry is the Registry of real registries (and local layouts),
// with the docker config's credentials; loopback registries speak plain
// HTTP.
type RemoteRegistry struct{ Options imageref.Options }

// Ping checks registry answers the OCI API.
func (r RemoteRegistry) Ping(ctx context.Context, registry string) error {
	return imageref.Ping(ctx, registry, r.Options)
}

// Write stores img at ref.
func (r RemoteRegistry) Write(ctx context.Context, img v1.Image, ref string) error {
	return imageref.Write(ctx, img, ref, r.Options)
}

// Resolve returns the digest of the manifest (or index) ref names.
func (r RemoteRegistry) Resolve(ctx context.Context, ref string) (v1.Hash, error) {
	return imageref.Resolve(ctx, ref, r.Options)
}
