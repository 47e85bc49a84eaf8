package httprange

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRange(t *testing.T) {
	const size = 3000
	whole := Span{0, size}
	tests := []struct {
		name    string
		header  string
		size    int64
		want    Span
		partial bool
		err     error
	}{
		{"empty header", "", size, whole, false, nil},
		{"blank header", "   ", size, whole, false, nil},
		{"closed range", "bytes=500-1499", size, Span{500, 1500}, true, nil},
		{"open range", "bytes=500-", size, Span{500, size}, true, nil},
		{"from zero", "bytes=0-", size, whole, true, nil},
		{"single byte", "bytes=0-0", size, Span{0, 1}, true, nil},
		{"last byte", "bytes=2999-2999", size, Span{2999, 3000}, true, nil},
		{"suffix", "bytes=-500", size, Span{2500, size}, true, nil},
		{"suffix larger than blob", "bytes=-5000", size, whole, true, nil},
		{"suffix equal to blob", "bytes=-3000", size, whole, true, nil},
		{"end clamped", "bytes=2000-5000", size, Span{2000, size}, true, nil},
		{"end overflowing int64 clamped", "bytes=10-99999999999999999999999", size, Span{10, size}, true, nil},
		{"unit case-insensitive", "Bytes=1-2", size, Span{1, 3}, true, nil},
		{"spaces around set", "bytes= 1-2 ", size, Span{1, 3}, true, nil},

		{"end before start", "bytes=500-0", size, Span{}, false, ErrUnsatisfiable},
		{"start past end", "bytes=5000-10000", size, Span{}, false, ErrUnsatisfiable},
		{"start at size", "bytes=3000-", size, Span{}, false, ErrUnsatisfiable},
		{"start overflowing int64", "bytes=99999999999999999999-", size, Span{}, false, ErrUnsatisfiable},
		{"zero suffix", "bytes=-0", size, Span{}, false, ErrUnsatisfiable},
		{"empty blob closed", "bytes=0-0", 0, Span{}, false, ErrUnsatisfiable},
		{"empty blob open", "bytes=0-", 0, Span{}, false, ErrUnsatisfiable},
		{"empty blob suffix", "bytes=-1", 0, Span{}, false, ErrUnsatisfiable},

		{"multi range ignored", "bytes=0-1,5-6", size, whole, false, nil},
		{"multi range on empty blob ignored", "bytes=0-1,5-6", 0, Span{0, 0}, false, nil},
		{"other unit ignored", "items=0-5", size, whole, false, nil},
		{"no equals ignored", "bytes 0-5", size, whole, false, nil},
		{"no dash ignored", "bytes=500", size, whole, false, nil},
		{"lone dash ignored", "bytes=-", size, whole, false, nil},
		{"negative start ignored", "bytes=--5", size, whole, false, nil},
		{"signed number ignored", "bytes=+5-10", size, whole, false, nil},
		{"letters ignored", "bytes=a-b", size, whole, false, nil},
		{"hex ignored", "bytes=0x10-0x20", size, whole, false, nil},
		{"inner space ignored", "bytes=1 - 2", size, whole, false, nil},
		{"malformed on empty blob ignored", "bytes=x-", 0, Span{0, 0}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			span, partial, err := ParseRange(tt.header, tt.size)
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseRange(%q, %d) error = %v, want %v", tt.header, tt.size, err, tt.err)
			}
			if span != tt.want || partial != tt.partial {
				t.Fatalf("ParseRange(%q, %d) = %+v, partial %v; want %+v, partial %v",
					tt.header, tt.size, span, partial, tt.want, tt.partial)
			}
		})
	}
}

func TestParseRangeNegativeSize(t *testing.T) {
	_, _, err := ParseRange("bytes=0-1", -1)
	if err == nil || errors.Is(err, ErrUnsatisfiable) {
		t.Fatalf("negative size: error = %v, want a size error", err)
	}
}

func TestContentRange(t *testing.T) {
	if got := (Span{500, 1500}).ContentRange(3000); got != "bytes 500-1499/3000" {
		t.Errorf("ContentRange = %q", got)
	}
	if got := (Span{0, 1}).ContentRange(1); got != "bytes 0-0/1" {
		t.Errorf("ContentRange single byte = %q", got)
	}
	if got := UnsatisfiableContentRange(3000); got != "bytes */3000" {
		t.Errorf("UnsatisfiableContentRange = %q", got)
	}
	if got := (Span{500, 1500}).Length(); got != 1000 {
		t.Errorf("Length = %d", got)
	}
}

// A parsed span fed back through ContentRange must describe the same bytes.
func TestParseRangeContentRangeRoundTrip(t *testing.T) {
	span, partial, err := ParseRange("bytes=-500", 3000)
	if err != nil || !partial {
		t.Fatalf("ParseRange: %v, partial %v", err, partial)
	}
	if got := span.ContentRange(3000); got != "bytes 2500-2999/3000" {
		t.Fatalf("ContentRange = %q", got)
	}
}

func TestParseContentRange(t *testing.T) {
	good := []struct {
		header     string
		start, end int64
	}{
		{"0-1023", 0, 1023},
		{"1024-2047", 1024, 2047},
		{"0-0", 0, 0},
		{"bytes 0-1023/*", 0, 1023},
		{"bytes 0-1023/4096", 0, 1023},
		{"bytes 0-1023/1024", 0, 1023},
		{"bytes=0-1023", 0, 1023},
		{"bytes 0-1023", 0, 1023},
		{"Bytes 5-9/*", 5, 9},
		{" 0-1023 ", 0, 1023},
		{"0-9223372036854775806", 0, 9223372036854775806},
	}
	for _, tt := range good {
		start, end, err := ParseContentRange(tt.header)
		if err != nil {
			t.Errorf("ParseContentRange(%q): %v", tt.header, err)
			continue
		}
		if start != tt.start || end != tt.end {
			t.Errorf("ParseContentRange(%q) = %d-%d, want %d-%d", tt.header, start, end, tt.start, tt.end)
		}
	}

	bad := []struct {
		header string
		msg    string
	}{
		{"", "empty"},
		{"   ", "empty"},
		{"1023", "want <start>-<end>"},
		{"-1023", "start"},
		{"0-", "end"},
		{"-1-5", "start"},
		{"0--5", "end"},
		{"+0-5", "start"},
		{"0-+5", "end"},
		{"a-b", "start"},
		{"0x0-0x5", "start"},
		{"10-5", "before start"},
		{"0-99999999999999999999", "out of range"},
		{"99999999999999999999-99999999999999999999", "out of range"},
		{"0-9223372036854775807", "too large"},
		{"bytes 0-1023/1000", "complete length"},
		{"bytes 0-1023/abc", "complete length"},
		{"bytes 0-1023/", "complete length"},
		{"bytes */1024", "start"},
		{"bytes 0 - 5", "start"},
		{"bytes:0-5", "start"},
		{"items 0-5", "start"},
	}
	for _, tt := range bad {
		_, _, err := ParseContentRange(tt.header)
		if err == nil {
			t.Errorf("ParseContentRange(%q) succeeded, want an error", tt.header)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseContentRange(%q) error %q does not mention %q", tt.header, err, tt.msg)
		}
	}
}

func TestFormatUploadRange(t *testing.T) {
	tests := map[int64]string{
		0:    "0-0",
		1:    "0-0",
		1024: "0-1023",
		-1:   "0-0",
	}
	for size, want := range tests {
		if got := FormatUploadRange(size); got != want {
			t.Errorf("FormatUploadRange(%d) = %q, want %q", size, got, want)
		}
	}
}
