package logs

import (
	"fmt"
	"strconv"
	"time"
)

// ParseTime reads a log time bound as docker compose takes it (--since,
// --until): a duration before now ("10m") or an RFC 3339 time.
func ParseTime(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: want a duration like 10m or an RFC 3339 time", s)
}

// ParseTail reads --tail: "all" (or "") for every line, else a
// non-negative number of lines (0 also means every line).
func ParseTail(s string) (int, error) {
	if s == "" || s == "all" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("--tail %q: want a number of lines or \"all\"", s)
	}
	return n, nil
}
