package gc

import (
	"fmt"
	"io"
	"time"
)

// WriteText writes what `berth registry gc` prints: a line per manifest
// and blob removed (or, for a dry run, that would be), then a summary.
func (rep Report) WriteText(w io.Writer) {
	verb := "removed"
	if rep.DryRun {
		verb = "would remove"
	}
	for _, m := range rep.Manifests {
		fmt.Fprintf(w, "manifest %s@%s\n", m.Repo, m.Digest)
	}
	for _, b := range rep.Blobs {
		fmt.Fprintf(w, "blob %s\n", b)
	}
	fmt.Fprintf(w, "%s %d manifests, %d blobs (%d bytes), %d uploads, %d temp files in %s\n",
		verb, len(rep.Manifests), len(rep.Blobs), rep.BytesFreed, rep.Uploads, rep.TempFiles, rep.Duration.Round(time.Millisecond))
}
