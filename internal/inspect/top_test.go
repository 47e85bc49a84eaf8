package inspect

import (
	"strings"
	"testing"
)

// TestTopOptions: --top N lists N, --top 0 none (InspectWith's negative),
// a negative --top is an error naming the flag and value.
func TestTopOptions(t *testing.T) {
	if o, err := TopOptions(5); err != nil || o.Top != 5 {
		t.Errorf("--top 5: %+v %v", o, err)
	}
	if o, err := TopOptions(0); err != nil || o.Top >= 0 {
		t.Errorf("--top 0: %+v %v; want a negative Top (none)", o, err)
	}
	if _, err := TopOptions(-2); err == nil || !strings.Contains(err.Error(), "--top must be 0 or more, got -2") {
		t.Errorf("--top -2: %v", err)
	}
}
