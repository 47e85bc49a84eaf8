package model

import (
	"encoding/json"
	"fmt"
	"time"
)

// duration is how every time.Duration field of this package is encoded: a
// Go duration string ("30s", "1m30s", "0s"). Reading also accepts an
// integer number of nanoseconds, which is how records written before this
// package encoded durations.
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("duration: want a string like \"30s\", got %s", b)
		}
		*d = duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %v", s, err)
	}
	*d = duration(v)
	return nil
}
