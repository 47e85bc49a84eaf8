package main

import (
	"testing"

	"github.com/berth-dev/berth/internal/engine"
)

// The size columns keep their formats: images, volumes, inspect and
// promote as docker images does ("12.3 MB"), stats' memory in binary and
// network in decimal units as docker stats does.
func TestSizeFormats(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 1234567: "1.2 MB", 999950: "1000.0 kB", 5e12: "5.0 TB", 2e15: "2.0 PB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[uint64]string{512: "512B", 1000: "1000B", 1536: "1.5KiB", 10 << 20: "10MiB", 3<<30 + 1<<29: "3.5GiB"} {
		if got := engine.MemorySize(n); got != want {
			t.Errorf("memorySize(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[uint64]string{512: "512B", 1234: "1.234kB", 1e6: "1MB", 12345678: "12.35MB"} {
		if got := engine.NetworkSize(n); got != want {
			t.Errorf("networkSize(%d) = %q, want %q", n, got, want)
		}
	}
}
