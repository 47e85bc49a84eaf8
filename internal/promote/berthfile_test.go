package promote

import (
	"fmt"
	"testing"
)

// TestPromoteSummaryCountsEachBlobOnce: mounted blobs are not also counted
// as copied (within one registry every blob is mounted).
func TestPromoteSummaryCountsEachBlobOnce(t *testing.T) {
	got := Result{Dst: "r/p/app:1", Digest: "sha256:d", BlobsMounted: 3, BlobsSkipped: 1, Provenance: "sha256:p"}.Summary("r/s/app:1", func(n int64) string { return fmt.Sprintf("%d B", n) })
	want := "promoted r/s/app:1 → r/p/app:1 (sha256:d): 0 blobs copied (0 B), 3 mounted, 1 already there; provenance recorded as sha256:p"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
