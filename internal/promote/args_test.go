package promote

import (
	"strings"
	"testing"
)

// TestParseImageArg (was cmd/berth's TestParsePromoteImage).
func TestParseImageArg(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct{ arg, tag, image, id string }{
		{"app", "", "app", "latest"},
		{"app:1.2.0", "", "app", "1.2.0"},
		{"app:1.2.0", "2.0", "app", "2.0"},
		{"app", "2.0", "app", "2.0"},
		{"app@" + d, "", "app", d},
		{"app@" + d, "2.0", "app", d},
	} {
		image, id, err := ParseImageArg(tc.arg, tc.tag)
		if err != nil || image != tc.image || id != tc.id {
			t.Errorf("ParseImageArg(%q, %q) = %q, %q, %v; want %q, %q", tc.arg, tc.tag, image, id, err, tc.image, tc.id)
		}
	}
	for _, bad := range []string{":1", "app:", "app@sha256:12"} {
		if _, _, err := ParseImageArg(bad, ""); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
