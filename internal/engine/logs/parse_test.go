package logs

import (
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"10m":                  now.Add(-10 * time.Minute),
		"0s":                   now,
		"2026-01-01T00:00:00Z": time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		got, err := ParseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v %v, want %v", in, got, err, want)
		}
	}
	if _, err := ParseTime("yesterday", now); err == nil || !strings.Contains(err.Error(), `"yesterday"`) {
		t.Errorf("bad time: %v", err)
	}
}

func TestParseTail(t *testing.T) {
	for in, want := range map[string]int{"all": 0, "": 0, "0": 0, "25": 25} {
		if got, err := ParseTail(in); err != nil || got != want {
			t.Errorf("ParseTail(%q) = %d %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"-1", "some", "1.5"} {
		if _, err := ParseTail(in); err == nil || !strings.Contains(err.Error(), "--tail") {
			t.Errorf("ParseTail(%q): %v", in, err)
		}
	}
}

func FuzzParseTail(f *testing.F) {
	for _, s := range []string{"all", "10", "-3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseTail(s); err == nil && n < 0 {
			t.Fatalf("ParseTail(%q) = %d", s, n)
		}
	})
}
