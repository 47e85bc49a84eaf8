package release

import (
	"context"
	"errors"
	"io"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/internal/spec"
)

// BuildRequest is `berth build`: build images of File and report them.
type BuildRequest struct {
	File    *spec.File
	Names   []string // default: every image, in the file's order
	Variant string   // "" is the plain (prod) image
	Out     build.Output
	Report  build.Report
	// Log gets the build's progress text; Progress the layers' transfers.
	Log      io.Writer
	Progress progress.Func
	// Signed says a signing key was given (it needs Out.Push); Signing
	// makes the signer (nil without a key) and the attester of what is
	// pushed, over the registry options of the build.
	Signed  bool
	Signing func(imageref.Options) (policy.Signer, Attester, error)
	Version string // berth's, for the provenance
	Stdout  io.Writer
}

// Build locks what the lock file lacks, builds, pushes (signing and
// attaching SBOMs and provenance to every pushed image) or writes the
// images, and reports them on Stdout.
func Build(ctx context.Context, r BuildRequest) error {
	names := r.Names
	if len(names) == 0 {
		names = r.File.ImageOrder
	}
	b, err := build.New(r.File, r.Log)
	if err != nil {
		return err
	}
	b.RefOptions.Progress = r.Progress
	if err := b.LockFirst(ctx); err != nil {
		return err
	}
	if r.Signed && r.Out.Push == "" {
		return errors.New("--key signs what --push pushes: give --push")
	}
	signer, attester, err := r.Signing(b.RefOptions)
	if err != nil {
		return err
	}
	b.Pushed = Pushed(signer, attester, &SpecBuilder{B: b, Version: r.Version}, r.Variant, r.Log)
	return b.BuildAndReport(ctx, r.Stdout, names, r.Variant, r.Out, r.Report)
}
