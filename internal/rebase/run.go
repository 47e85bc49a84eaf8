package rebase

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/berth-dev/berth/internal/imageref"
)

// Request is `berth rebase`: Image, rebased from OldBase (default: the
// base its annotations name) onto Onto, written to Dest.
type Request struct {
	Image, OldBase, Onto, Dest string
	Options                    imageref.Options
}

// Result is what Run did (`berth rebase --json`).
type Result struct {
	Digest  string `json:"digest"`
	Output  string `json:"output"`
	OldBase string `json:"oldBase"`
	NewBase string `json:"newBase"`
}

// WriteText prints what rebase says without --json: the digest on
// stdout, what it did (image, bases, output) on log.
func (r Result) WriteText(stdout, log io.Writer, image string) {
	fmt.Fprintf(log, "rebased %s from %s onto %s, wrote %s\n", image, r.OldBase, r.NewBase, r.Output)
	fmt.Fprintln(stdout, r.Digest)
}

// Run loads r.Image, rebases it and writes the result to r.Dest.
func Run(ctx context.Context, r Request) (Result, error) {
	if r.Onto == "" {
		return Result{}, errors.New("--onto NEWBASE is required")
	}
	img, err := imageref.Load(ctx, r.Image, r.Options)
	if err != nil {
		return Result{}, err
	}
	from := r.OldBase
	if from == "" {
		if from, err = OldBaseRef(img); err != nil {
			return Result{}, fmt.Errorf("%s: %w (--old-base)", r.Image, err)
		}
	}
	out, err := From(ctx, img, from, r.Onto, r.Options)
	if err != nil {
		return Result{}, err
	}
	if err := imageref.Write(ctx, out, r.Dest, r.Options); err != nil {
		return Result{}, err
	}
	d, err := out.Digest()
	if err != nil {
		return Result{}, err
	}
	return Result{Digest: d.String(), Output: r.Dest, OldBase: from, NewBase: r.Onto}, nil
}
