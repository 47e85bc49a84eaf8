package httprange

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

func FuzzParseRange(f *testing.F) {
	for _, h := range []string{
		"", "bytes=500-1499", "bytes=500-", "bytes=-500", "bytes=2000-5000",
		"bytes=500-0", "bytes=5000-10000", "bytes=0-1,5-6", "items=0-1", "bytes=-0",
		"bytes=99999999999999999999-", "bytes=0-99999999999999999999", "bytes=-99999999999999999999",
	} {
		f.Add(h, int64(3000))
		f.Add(h, int64(0))
	}
	f.Add("bytes=0-", int64(math.MaxInt64))
	f.Add("bytes=-1", int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, header string, size int64) {
		span, partial, err := ParseRange(header, size)
		if size < 0 {
			if err == nil {
				t.Fatalf("negative size %d accepted", size)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, ErrUnsatisfiable) {
				t.Fatalf("ParseRange(%q, %d): unexpected error %v", header, size, err)
			}
			if span != (Span{}) || partial {
				t.Fatalf("ParseRange(%q, %d): error with span %+v partial %v", header, size, span, partial)
			}
			return
		}
		if span.Start < 0 || span.Start > span.End || span.End > size {
			t.Fatalf("ParseRange(%q, %d) = %+v out of bounds", header, size, span)
		}
		if !partial {
			if span != (Span{0, size}) {
				t.Fatalf("ParseRange(%q, %d) = %+v, not partial but not whole", header, size, span)
			}
			return
		}
		// A 206 answer always carries at least one byte.
		if span.Length() < 1 {
			t.Fatalf("ParseRange(%q, %d) = %+v, partial but empty", header, size, span)
		}
		want := fmt.Sprintf("bytes %d-%d/%d", span.Start, span.End-1, size)
		if got := span.ContentRange(size); got != want {
			t.Fatalf("ContentRange = %q, want %q", got, want)
		}
	})
}

func FuzzParseContentRange(f *testing.F) {
	for _, h := range []string{
		"0-1023", "bytes 0-1023/*", "bytes 0-1023/4096", "bytes=0-1023", "10-5",
		"0-9223372036854775807", "0-99999999999999999999", "", "bytes */10", "-1-5",
	} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		start, end, err := ParseContentRange(header)
		if err != nil {
			if start != 0 || end != 0 {
				t.Fatalf("ParseContentRange(%q): error with %d-%d", header, start, end)
			}
			return
		}
		if start < 0 || end < start || end == math.MaxInt64 {
			t.Fatalf("ParseContentRange(%q) = %d-%d breaks the invariants", header, start, end)
		}
		// What we accept must survive being written back in the spec's form.
		s2, e2, err := ParseContentRange(fmt.Sprintf("%d-%d", start, end))
		if err != nil || s2 != start || e2 != end {
			t.Fatalf("round trip of %q: %d-%d, %v", header, s2, e2, err)
		}
	})
}
