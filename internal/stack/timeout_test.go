package stack

import (
	"strings"
	"testing"
	"time"
)

func TestParseTimeout(t *testing.T) {
	for in, want := range map[string]time.Duration{"30": 30 * time.Second, "0": 0, "1m30s": 90 * time.Second, "500ms": 500 * time.Millisecond} {
		if got, err := ParseTimeout(in); err != nil || got != want {
			t.Errorf("ParseTimeout(%q) = %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "-5s", "ten", "99999999999999999999"} {
		if _, err := ParseTimeout(in); err == nil || !strings.Contains(err.Error(), "seconds") {
			t.Errorf("ParseTimeout(%q): %v", in, err)
		}
	}
}

func FuzzParseTimeout(f *testing.F) {
	for _, s := range []string{"30", "1m", "-1", "9223372036"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseTimeout(s); err == nil && d < 0 {
			t.Fatalf("ParseTimeout(%q) = %v", s, d)
		}
	})
}
