package model

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is how every time.Duration field of this package (and of the
// stack berth prints) is encoded: a Go Duration string ("30s", "1m30s",
// "0s"). Reading also accepts an integer number of nanoseconds, which is
// how records written before this package encoded durations.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("duration: want a string like \"30s\", got %s", b)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("Duration %q: %v", s, err)
	}
	*d = Duration(v)
	return nil
}
