package vuln

import (
	"fmt"
	"sort"
	"time"
)

// Source is where records come from: the bbolt DB, or anything else
// (tests, a remote index) that answers by (ecosystem, name).
type Source interface {
	Lookup(ecosystem, name string) ([]*Record, error)
}

// Target says what was scanned: an image reference and digest, or an SBOM
// file.
type Target struct {
	Name   string `json:"name"`
	Digest string `json:"digest,omitempty"`
	Kind   string `json:"kind"` // image | sbom | packages
}

// Finding is one vulnerability of one package.
type Finding struct {
	ID        string   `json:"id"`
	Aliases   []string `json:"aliases,omitempty"`
	Summary   string   `json:"summary,omitempty"`
	Package   string   `json:"package"`          // the name a person reads: Debian binary package, Go module, stdlib
	Source    string   `json:"source,omitempty"` // Debian source package the record names, when different
	Purl      string   `json:"purl"`
	Ecosystem string   `json:"ecosystem"`
	Installed string   `json:"installed"`
	Fixed     string   `json:"fixed,omitempty"` // "" = no fix yet
	Rating
	Suppressed    bool   `json:"suppressed,omitempty"`
	SuppressedBy  string `json:"suppressedBy,omitempty"` // the VEX file
	VEXStatus     string `json:"vexStatus,omitempty"`
	Justification string `json:"justification,omitempty"`
}

// Result is a scan's outcome.
type Result struct {
	Target     Target    `json:"target"`
	Scanned    int       `json:"packagesScanned"`
	Skipped    []string  `json:"packagesSkipped,omitempty"` // purls of types the scanner does not match
	Findings   []Finding `json:"findings"`
	StartedOn  time.Time `json:"startedOn"`
	FinishedOn time.Time `json:"finishedOn"`
	Database   string    `json:"database,omitempty"`
}

// Scan matches packages (by purl) against the records of src; findings that
// a VEX statement (not_affected or fixed) covers are marked suppressed.
// target.Digest lets VEX statements name the image itself.
func Scan(target Target, purls []string, src Source, vex *VEX) (*Result, error) {
	res := &Result{Target: target, StartedOn: time.Now().UTC(), Findings: []Finding{}}
	seen := map[string]bool{}
	for _, s := range purls {
		if seen[s] {
			continue
		}
		seen[s] = true
		p, err := ParsePurl(s)
		if err != nil {
			return nil, err
		}
		q, ok, err := queryFor(p)
		if err != nil {
			return nil, err
		}
		if !ok || q.version == "" {
			res.Skipped = append(res.Skipped, s)
			continue
		}
		res.Scanned++
		if !q.valid(q.version) {
			// "(devel)" main modules and the like: nothing to compare.
			res.Skipped = append(res.Skipped, s)
			continue
		}
		recs, err := src.Lookup(q.ecosystem, q.name)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if r.Withdrawn != "" {
				continue
			}
			for i := range r.Affected {
				a := &r.Affected[i]
				if a.Package.Ecosystem != q.ecosystem || a.Package.Name != q.name {
					continue
				}
				v := match(*a, q)
				if !v.Affected {
					continue
				}
				f := Finding{
					ID: r.ID, Aliases: aliases(r), Summary: r.Summary, Package: p.DisplayName(), Purl: s,
					Ecosystem: q.ecosystem, Installed: p.Version, Fixed: v.Fixed, Rating: rate(r, a),
				}
				if q.name != p.DisplayName() {
					f.Source = q.name
				}
				if st := vex.suppresses(r.IDs(), p, target.Digest); st != nil {
					f.Suppressed, f.SuppressedBy, f.VEXStatus, f.Justification = true, st.Source, st.Status, st.Justification
				}
				res.Findings = append(res.Findings, f)
				break // one finding per record and package
			}
		}
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		if ra, rb := SeverityRank(a.Severity), SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if a.Package != b.Package {
			return a.Package < b.Package
		}
		return a.ID < b.ID
	})
	res.FinishedOn = time.Now().UTC()
	return res, nil
}

func aliases(r *Record) []string {
	var out []string
	seen := map[string]bool{r.ID: true}
	for _, a := range append(append([]string(nil), r.Aliases...), r.Upstream...) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// Active is the findings no VEX statement suppressed.
func (r *Result) Active() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if !f.Suppressed {
			out = append(out, f)
		}
	}
	return out
}

// FailOn returns an error naming the worst unsuppressed finding at or above
// the severity (critical|high|medium|low), nil when there is none.
func (r *Result) FailOn(severity string) error {
	min, err := ParseSeverity(severity)
	if err != nil {
		return err
	}
	var hits []Finding
	for _, f := range r.Active() {
		if SeverityRank(f.Severity) >= SeverityRank(min) {
			hits = append(hits, f)
		}
	}
	if len(hits) == 0 {
		return nil
	}
	f := hits[0] // sorted worst first
	return &GateError{Severity: min, Count: len(hits), Worst: f}
}

// Exceeds is the policy gate max_severity: an error naming the worst
// unsuppressed finding strictly above max (max "high" refuses critical
// findings only; "unknown" refuses any finding with a known severity), nil
// when there is none.
func (r *Result) Exceeds(max string) error {
	m, err := ParseSeverity(max)
	if err != nil {
		return err
	}
	var hits []Finding
	for _, f := range r.Active() {
		if SeverityRank(f.Severity) > SeverityRank(m) {
			hits = append(hits, f)
		}
	}
	if len(hits) == 0 {
		return nil
	}
	return &GateError{Severity: m, Count: len(hits), Worst: hits[0], Above: true}
}

// GateError is a --fail-on / max_severity refusal.
type GateError struct {
	Severity string
	Count    int
	Worst    Finding
	Above    bool // max_severity: strictly above Severity
}

func (e *GateError) Error() string {
	fix := "no fix yet"
	if e.Worst.Fixed != "" {
		fix = "fixed in " + e.Worst.Fixed
	}
	rel := "at or above"
	if e.Above {
		rel = "above"
	}
	return fmt.Sprintf("%d finding(s) %s %s: worst %s (%s) in %s %s, %s", e.Count, rel, e.Severity,
		e.Worst.ID, e.Worst.Severity, e.Worst.Package, e.Worst.Installed, fix)
}
