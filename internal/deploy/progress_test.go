package deploy

import (
	"strings"
	"testing"
	"time"
)

func TestProgressText(t *testing.T) {
	if got := FormatEvent(Event{Service: "web", Revision: 3, Slot: 1, Kind: "healthy"}, 1200*time.Millisecond); got != "   1.2s  web rev 3 replica 1: healthy" {
		t.Errorf("event line %q", got)
	}
	if got := FormatEvent(Event{Service: "web", Kind: "done", Message: "rolled out"}, 0); got != "   0.0s  web: rolled out" {
		t.Errorf("event line %q", got)
	}
	var b strings.Builder
	WriteReport(&b, Report{Services: []ServiceResult{{Service: "web", Outcome: "rolled_out", Revision: 2, Current: 3, Digest: "sha256:abc"}}}, func(d string) string { return d[:8] })
	if want := "SERVICE  OUTCOME     REVISION  RUNNING  DIGEST\nweb      rolled out  2         3        sha256:a\n"; b.String() != want {
		t.Errorf("report\n%q\nwant\n%q", b.String(), want)
	}
}
