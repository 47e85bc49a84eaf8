package deploy

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// FormatEvent is a rollout event as one progress line, elapsed after the
// start: "  1.2s  web rev 3 replica 1: healthy".
func FormatEvent(e Event, elapsed time.Duration) string {
	s := fmt.Sprintf("%6.1fs  %s", elapsed.Seconds(), e.Service)
	if e.Revision > 0 {
		s += fmt.Sprintf(" rev %d", e.Revision)
	}
	if e.Slot > 0 {
		s += fmt.Sprintf(" replica %d", e.Slot)
	}
	msg := e.Message
	if msg == "" {
		msg = e.Kind
	}
	return s + ": " + msg
}

// WriteReport writes what each service runs after a deploy or rollback,
// one row per service; short shortens digests.
func WriteReport(w io.Writer, rep Report, short func(string) string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tOUTCOME\tREVISION\tRUNNING\tDIGEST")
	for _, s := range rep.Services {
		rev := "-"
		if s.Revision > 0 {
			rev = strconv.Itoa(s.Revision)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", s.Service, strings.ReplaceAll(s.Outcome, "_", " "), rev, s.Current, short(s.Digest))
	}
	tw.Flush()
}

// WriteHistory writes a service's revisions, oldest first, the current
// one marked *; short shortens digests.
func WriteHistory(w io.Writer, h []HistoryEntry, short func(string) string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tREVISION\tOUTCOME\tDIGEST\tCONFIG\tDEPLOYED\tIMAGE\tNOTE")
	for _, r := range h {
		mark := ""
		if r.Current {
			mark = "*"
		}
		note := r.Reason
		if r.RollbackOf > 0 {
			note = strings.TrimSpace(fmt.Sprintf("rollback to %d. %s", r.RollbackOf, note))
		}
		image, _, _ := strings.Cut(r.Image, "@") // the digest has its own column
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, r.Number, strings.ReplaceAll(r.Outcome, "_", " "),
			short(r.Digest), r.ConfigHash, r.Created.Local().Format("2006-01-02 15:04:05"), image, note)
	}
	return tw.Flush()
}

// ShowHistory prints berth history's answer: h as JSON with asJSON, else
// WriteHistory's table, or, with no revisions yet, a note on stderr
// naming service and stack.
func ShowHistory(stdout, stderr io.Writer, stack, service string, h []HistoryEntry, asJSON bool, short func(string) string) error {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(h)
	}
	if len(h) == 0 {
		fmt.Fprintf(stderr, "no revisions of %s in stack %s yet (berth deploy records them)\n", service, stack)
		return nil
	}
	return WriteHistory(stdout, h, short)
}
