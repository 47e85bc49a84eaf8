package keyagent

import (
	"fmt"
	"io"
	"time"
)

// WriteEntries prints loaded keys, one a line: file, id, expiry.
func WriteEntries(w io.Writer, entries []Entry) {
	if len(entries) == 0 {
		fmt.Fprintln(w, "no keys loaded")
	}
	for _, e := range entries {
		exp := "until the agent stops"
		if !e.Expires.IsZero() {
			exp = "until " + e.Expires.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s  %s  %s\n", e.Name, e.Key[:min(len(e.Key), 19)], exp)
	}
}
