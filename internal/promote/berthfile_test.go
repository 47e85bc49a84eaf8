package promote

import (
	"fmt"
	"strings"
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

// TestRequestCheck: two different environments and a valid image
// argument, refused naming the flags.
func TestRequestCheck(t *testing.T) {
	ok := Request{Arg: "app:1.2.0", From: "staging", To: "prod"}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		r    Request
		want string
	}{
		{Request{Arg: "app", From: "staging"}, "--from ENV and --to ENV are required"},
		{Request{Arg: "app", To: "prod"}, "--from ENV and --to ENV are required"},
		{Request{Arg: "app", From: "prod", To: "prod"}, `--from and --to are both "prod"`},
		{Request{Arg: "app@sha256:xyz", From: "staging", To: "prod"}, "is not a digest"},
		{Request{Arg: "app", Tag: "-bad", From: "staging", To: "prod"}, "--tag"},
	} {
		if err := tc.r.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.r, err, tc.want)
		}
	}
}
