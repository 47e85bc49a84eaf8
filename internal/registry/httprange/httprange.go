// Package httprange parses and formats the byte ranges of the registry's
// blob traffic: the RFC 9110 Range header of a blob GET, the non-RFC
// Content-Range header of an upload PATCH, and the Range header the OCI
// Distribution Spec puts on upload responses.
package httprange

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrUnsatisfiable means a Range header was well formed but selects no byte
// of the blob. The server answers 416 with UnsatisfiableContentRange.
var ErrUnsatisfiable = errors.New("requested range is not satisfiable")

// Span is the half-open byte interval [Start, End) of a blob.
type Span struct {
	Start, End int64
}

// Length is the number of bytes in the span.
func (s Span) Length() int64 { return s.End - s.Start }

// ContentRange is the Content-Range header of a 206 answer that serves s out
// of a blob of size bytes, e.g. "bytes 500-1499/3000" (the end is inclusive).
func (s Span) ContentRange(size int64) string {
	return fmt.Sprintf("bytes %d-%d/%d", s.Start, s.End-1, size)
}

// UnsatisfiableContentRange is the Content-Range header of a 416 answer for a
// blob of size bytes, as RFC 9110 section 14.4 wants it: "bytes */size".
func UnsatisfiableContentRange(size int64) string {
	return fmt.Sprintf("bytes */%d", size)
}

// ParseRange reads the Range header of a blob GET against a blob of size
// bytes. partial reports whether to answer 206 with span; when it is false,
// span is the whole blob and the answer is a plain 200.
//
// RFC 9110 lets a server ignore a Range header it cannot or will not honour,
// so a malformed header, a unit other than "bytes" and a multi-range request
// (we do not serve multipart/byteranges) all yield the whole blob with no
// error. A well-formed single range that selects no byte (start at or past
// the end, end before start, an empty blob, a zero-length suffix) yields
// ErrUnsatisfiable.
func ParseRange(header string, size int64) (span Span, partial bool, err error) {
	if size < 0 {
		return Span{}, false, fmt.Errorf("blob size %d is negative", size)
	}
	whole := Span{Start: 0, End: size}
	header = strings.TrimSpace(header)
	if header == "" {
		return whole, false, nil
	}
	unit, set, ok := strings.Cut(header, "=")
	// Range units are case-insensitive (RFC 9110 section 14.1).
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return whole, false, nil
	}
	if strings.Contains(set, ",") {
		return whole, false, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(set), "-")
	if !ok {
		return whole, false, nil
	}

	if first == "" {
		// Suffix range "-N": the last N bytes.
		n, ok := parseDigits(last)
		if !ok {
			return whole, false, nil
		}
		if n == 0 || size == 0 {
			return Span{}, false, ErrUnsatisfiable
		}
		if n > size {
			n = size
		}
		return Span{Start: size - n, End: size}, true, nil
	}

	start, ok := parseDigits(first)
	if !ok {
		return whole, false, nil
	}
	end := int64(math.MaxInt64) // "N-" runs to the end of the blob.
	if last != "" {
		e, ok := parseDigits(last)
		if !ok {
			return whole, false, nil
		}
		if e < start {
			return Span{}, false, ErrUnsatisfiable
		}
		if e < math.MaxInt64 {
			end = e + 1 // inclusive end to half-open
		}
	}
	if start >= size {
		return Span{}, false, ErrUnsatisfiable
	}
	// An end past the blob is clamped, not refused (RFC 9110 section 14.1.2).
	if end > size {
		end = size
	}
	return Span{Start: start, End: end}, true, nil
}

// parseDigits reads 1*DIGIT as RFC 9110 writes positions: no sign, no space.
// A number too large for int64 saturates at math.MaxInt64, since it is still
// a valid position, just one past any blob we hold.
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64
			continue // keep checking that the rest are digits
		}
		n = n*10 + d
	}
	return n, true
}

// ParseContentRange reads the Content-Range header of an upload PATCH and
// returns the inclusive byte positions it names. The spec's form is "0-1023";
// clients also send the RFC forms "bytes 0-1023/*" and "bytes 0-1023/4096",
// and some "bytes=0-1023", so all are accepted. A complete length, when
// given, must cover the range.
func ParseContentRange(header string) (start, end int64, err error) {
	h := strings.TrimSpace(header)
	if h == "" {
		return 0, 0, errors.New("empty Content-Range header")
	}
	rest := h
	if len(rest) >= 6 && strings.EqualFold(rest[:5], "bytes") && (rest[5] == ' ' || rest[5] == '=') {
		rest = strings.TrimSpace(rest[6:])
	}
	rng, complete, hasComplete := strings.Cut(rest, "/")
	first, last, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, fmt.Errorf("invalid Content-Range %q: want <start>-<end>", header)
	}
	start, err = parseStrictInt(first)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid Content-Range %q: start: %w", header, err)
	}
	end, err = parseStrictInt(last)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid Content-Range %q: end: %w", header, err)
	}
	if end < start {
		return 0, 0, fmt.Errorf("invalid Content-Range %q: end %d is before start %d", header, end, start)
	}
	// end+1 is the upload size after this chunk; it must fit in an int64.
	if end == math.MaxInt64 {
		return 0, 0, fmt.Errorf("invalid Content-Range %q: end %d is too large", header, end)
	}
	if hasComplete && complete != "*" {
		total, err := parseStrictInt(complete)
		if err != nil {
			return 0, 0, fmt.Errorf("invalid Content-Range %q: complete length: %w", header, err)
		}
		if end >= total {
			return 0, 0, fmt.Errorf("invalid Content-Range %q: end %d is not below the complete length %d", header, end, total)
		}
	}
	return start, end, nil
}

// parseStrictInt accepts only 1*DIGIT that fits in an int64, so that "+5",
// "-5", " 5" and "0x5", which strconv or Sscanf would let through in part,
// are refused.
func parseStrictInt(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("missing number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a non-negative decimal number", s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return n, nil
}

// FormatUploadRange is the Range header of an upload response once size
// bytes were received: "0-<size-1>", the spec's non-RFC form without
// "bytes=". An empty upload reports "0-0", as distribution does, because
// clients parse the header as two numbers and "0--1" would break them.
func FormatUploadRange(size int64) string {
	if size <= 0 {
		return "0-0"
	}
	return fmt.Sprintf("0-%d", size-1)
}
