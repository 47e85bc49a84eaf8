package vuln

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the findings as a table (suppressed ones are counted,
// not listed) and a summary line.
func WriteTable(w io.Writer, r *Result) error {
	active := r.Active()
	if len(active) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPACKAGE\tINSTALLED\tFIXED\tSEVERITY\tALIASES")
		for _, f := range active {
			fixed := f.Fixed
			if fixed == "" {
				fixed = "(none)"
			}
			pkg := f.Package
			if f.Source != "" {
				pkg += " (" + f.Source + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.ID, pkg, f.Installed, fixed, f.Severity, strings.Join(f.Aliases, ","))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	counts := map[string]int{}
	for _, f := range active {
		counts[f.Severity]++
	}
	var parts []string
	for _, s := range []string{SevCritical, SevHigh, SevMedium, SevLow, SevUnknown} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	summary := "no vulnerabilities found"
	if len(active) > 0 {
		summary = fmt.Sprintf("%d vulnerabilities (%s)", len(active), strings.Join(parts, ", "))
	}
	if n := len(r.Findings) - len(active); n > 0 {
		summary += fmt.Sprintf(", %d suppressed by VEX", n)
	}
	_, err := fmt.Fprintf(w, "%s: %s in %d packages\n", r.Target.Name, summary, r.Scanned)
	return err
}

// WriteJSON prints the result as JSON (suppressed findings included, marked).
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
