package release

import (
	"context"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/policy"
)

// Record attaches the evidence of an image b built (and the pipeline
// pushed to ref, REPOSITORY@sha256:…) through a, and says how long it took
// on progress. Every predicate is attached or the error names the one that
// was not.
func Record(ctx context.Context, a Attester, b Builder, image, variant string, img v1.Image, ref string, progress io.Writer) error {
	ev, ok := b.(Evidencer)
	if !ok {
		return fmt.Errorf("image %s: the builder records no evidence (SBOM, provenance) to attach", image)
	}
	start := time.Now()
	preds, err := ev.Evidence(ctx, image, variant, img)
	if err != nil {
		return fmt.Errorf("image %s: SBOM and provenance: %w", image, err)
	}
	for _, p := range preds {
		if err := a.Attach(ctx, ref, p.Type, p.Body); err != nil {
			return fmt.Errorf("image %s: attaching %s to %s: %w", image, p.Type, ref, err)
		}
	}
	if progress != nil {
		fmt.Fprintf(progress, "attached %d attestations to %s (%s)\n", len(preds), ref, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// Pushed is what `berth build --push` does after each image it pushes:
// sign it by digest with signer (when not nil) and attach its evidence
// through a, as the pipeline does for ship.
func Pushed(signer policy.Signer, a Attester, b Builder, variant string, progress io.Writer) func(context.Context, build.Written) error {
	return func(ctx context.Context, w build.Written) error {
		ref := RepoOf(w.Destination) + "@" + w.Result.Digest
		if signer != nil {
			if err := signer.Sign(ctx, ref); err != nil {
				return fmt.Errorf("signing %s: %w", ref, err)
			}
		}
		return Record(ctx, a, b, w.Name, variant, w.Result.Image, ref, progress)
	}
}
