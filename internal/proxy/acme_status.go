package proxy

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteCertTable prints certificates as `berth ps` shows them: host,
// expiry (with days left), when renewal is due, and the state — ok,
// pending (none yet) or the failures with the last error.
func WriteCertTable(w io.Writer, certs []CertStatus, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "CERTIFICATE\tEXPIRES\tRENEWS\tSTATE")
	for _, c := range certs {
		expires, renews := "-", "-"
		if !c.NotAfter.IsZero() {
			expires = fmt.Sprintf("%s (%s)", c.NotAfter.UTC().Format("2006-01-02 15:04"), daysLeft(c.NotAfter.Sub(now)))
			renews = c.RenewAt.UTC().Format("2006-01-02 15:04")
		}
		state := "ok"
		switch {
		case c.Failures > 0:
			state = fmt.Sprintf("failing (%d, next try %s): %s", c.Failures, c.NextAttempt.UTC().Format("15:04:05"), c.LastError)
		case c.NotAfter.IsZero():
			state = "pending"
		case !now.Before(c.NotAfter):
			state = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Host, expires, renews, state)
	}
	return tw.Flush()
}

func daysLeft(d time.Duration) string {
	switch days := int(d.Hours() / 24); {
	case d <= 0:
		return "expired"
	case days == 0:
		return "< 1 day"
	case days == 1:
		return "1 day"
	default:
		return fmt.Sprintf("%d days", days)
	}
}

// WriteCertSection is berth ps's certificates section: a blank line, then
// WriteCertTable of what list returns, when it returns any. A list error
// (a daemon older than its client has no such endpoint) writes nothing.
func WriteCertSection(w io.Writer, list func() ([]CertStatus, error), now time.Time) error {
	certs, err := list()
	if err != nil || len(certs) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	return WriteCertTable(w, certs, now)
}
