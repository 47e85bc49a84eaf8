package build

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// Report is what `berth build` prints on stdout: a line per image (name,
// digest, destination) and the lock file it wrote; with Quiet only the
// digests, one per image; with JSON one document listing every image.
type Report struct{ JSON, Quiet bool }

// writtenJSON is one image of the JSON report.
type writtenJSON struct {
	*Result
	Destination string `json:"destination,omitempty"`
}

// BuildAndReport builds names as BuildTo does, printing the report on
// stdout as the images are written.
func (b *Builder) BuildAndReport(ctx context.Context, stdout io.Writer, names []string, variant string, out Output, r Report) error {
	var results []writtenJSON
	lockWritten, err := b.BuildTo(ctx, names, variant, out, func(w Written) {
		results = append(results, writtenJSON{Result: w.Result, Destination: w.Destination})
		r.writeLine(stdout, w, variant)
	})
	if err != nil {
		return err
	}
	if lockWritten && !r.JSON && !r.Quiet {
		fmt.Fprintf(stdout, "wrote %s\n", b.LockPath)
	}
	if r.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	return nil
}

// writeLine prints one written image (nothing with JSON: the document
// comes at the end).
func (r Report) writeLine(stdout io.Writer, w Written, variant string) {
	switch {
	case r.JSON:
	case r.Quiet:
		fmt.Fprintln(stdout, w.Result.Digest)
	default:
		label := w.Name
		if variant != "" {
			label += " (" + variant + ")"
		}
		if w.Destination != "" {
			fmt.Fprintf(stdout, "%s %s -> %s\n", label, w.Result.Digest, w.Destination)
		} else {
			fmt.Fprintf(stdout, "%s %s\n", label, w.Result.Digest)
		}
	}
}
