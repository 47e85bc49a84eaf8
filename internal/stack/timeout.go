package stack

import (
	"fmt"
	"strconv"
	"time"
)

// ParseTimeout reads a timeout flag as docker compose takes it: a plain
// number is seconds (-t 30); a Go duration (30s, 2m) works too.
func ParseTimeout(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > int64(time.Duration(1<<63-1)/time.Second) {
			return 0, fmt.Errorf("%q: want a number of seconds (0 or more) or a duration like 30s", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want a number of seconds (0 or more) or a duration like 30s", s)
	}
	return d, nil
}
