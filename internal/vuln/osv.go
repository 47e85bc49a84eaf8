// Package vuln is berth's offline vulnerability scanner: OSV records
// imported into a local bbolt database, matched against packages named by
// purl (Debian packages by source package with Debian version ordering,
// Go modules and the standard library by semver), OpenVEX statements that
// silence findings, and the outputs (table, JSON, SARIF, CycloneDX VEX, the
// cosign vuln attestation predicate).
package vuln

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Record is the part of an OSV record (ossf/osv-schema) the scanner uses.
// Raw keeps the whole record as imported, so nothing is lost in the
// database.
type Record struct {
	ID               string          `json:"id"`
	Modified         string          `json:"modified"`
	Published        string          `json:"published,omitempty"`
	Withdrawn        string          `json:"withdrawn,omitempty"`
	Aliases          []string        `json:"aliases,omitempty"`
	Upstream         []string        `json:"upstream,omitempty"`
	Summary          string          `json:"summary,omitempty"`
	Details          string          `json:"details,omitempty"`
	Severity         []Severity      `json:"severity,omitempty"`
	Affected         []Affected      `json:"affected,omitempty"`
	References       []Reference     `json:"references,omitempty"`
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`

	modified time.Time
}

// Severity is one OSV severity entry: a CVSS vector.
type Severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// Reference is one OSV reference.
type Reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// Affected names a package and the versions of it a record applies to.
type Affected struct {
	Package           PackageRef      `json:"package"`
	Ranges            []Range         `json:"ranges,omitempty"`
	Versions          []string        `json:"versions,omitempty"`
	EcosystemSpecific json.RawMessage `json:"ecosystem_specific,omitempty"`
	DatabaseSpecific  json.RawMessage `json:"database_specific,omitempty"`
}

// PackageRef is OSV's package: ecosystem ("Go", "Debian:12", ...) + name.
type PackageRef struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Purl      string `json:"purl,omitempty"`
}

// Range is a SEMVER, ECOSYSTEM or GIT range of events.
type Range struct {
	Type   string  `json:"type"`
	Events []Event `json:"events"`
}

// Event is one range event; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// maxRecord bounds one OSV file (the largest Go record is ~200 KB).
const maxRecord = 16 << 20

// ParseRecord decodes and validates one OSV record; name (the file it came
// from) and the offending field are in every error.
func ParseRecord(name string, data []byte) (*Record, error) {
	if len(data) > maxRecord {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d an OSV record may have", name, len(data), maxRecord)
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%s: field %s: %s is not a valid %s", name, te.Field, te.Value, te.Type)
		}
		return nil, fmt.Errorf("%s: not an OSV JSON record: %v", name, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: more than one JSON value", name)
	}
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &r, nil
}

func fieldErr(field, format string, args ...any) error {
	return fmt.Errorf("field %s: "+format, append([]any{field}, args...)...)
}

func (r *Record) validate() error {
	if strings.TrimSpace(r.ID) == "" {
		return fieldErr("id", "missing")
	}
	if len(r.ID) > 256 || strings.ContainsAny(r.ID, "\x00\n/") {
		return fieldErr("id", "%q is not a valid id", r.ID)
	}
	if r.Modified == "" {
		return fieldErr("modified", "missing (OSV requires it)")
	}
	t, err := time.Parse(time.RFC3339Nano, r.Modified)
	if err != nil {
		return fieldErr("modified", "%q is not an RFC 3339 time", r.Modified)
	}
	r.modified = t
	if r.Withdrawn != "" {
		if _, err := time.Parse(time.RFC3339Nano, r.Withdrawn); err != nil {
			return fieldErr("withdrawn", "%q is not an RFC 3339 time", r.Withdrawn)
		}
	}
	for i, s := range r.Severity {
		if s.Type == "" || s.Score == "" {
			return fieldErr(fmt.Sprintf("severity[%d]", i), "type and score are required")
		}
	}
	for i, a := range r.Affected {
		f := fmt.Sprintf("affected[%d]", i)
		if a.Package.Ecosystem == "" {
			return fieldErr(f+".package.ecosystem", "missing")
		}
		if a.Package.Name == "" {
			return fieldErr(f+".package.name", "missing")
		}
		for j, rg := range a.Ranges {
			rf := fmt.Sprintf("%s.ranges[%d]", f, j)
			switch rg.Type {
			case "SEMVER", "ECOSYSTEM", "GIT":
			default:
				return fieldErr(rf+".type", "%q is not SEMVER, ECOSYSTEM or GIT", rg.Type)
			}
			if len(rg.Events) == 0 {
				return fieldErr(rf+".events", "empty")
			}
			hasFixed, hasLast := false, false
			for k, e := range rg.Events {
				ef := fmt.Sprintf("%s.events[%d]", rf, k)
				n := 0
				for _, v := range []string{e.Introduced, e.Fixed, e.LastAffected, e.Limit} {
					if v != "" {
						n++
					}
				}
				if n != 1 {
					return fieldErr(ef, "want exactly one of introduced, fixed, last_affected, limit; got %d", n)
				}
				hasFixed = hasFixed || e.Fixed != ""
				hasLast = hasLast || e.LastAffected != ""
			}
			if hasFixed && hasLast {
				return fieldErr(rf+".events", "fixed and last_affected in one range")
			}
		}
		for j, v := range a.Versions {
			if v == "" {
				return fieldErr(fmt.Sprintf("%s.versions[%d]", f, j), "empty")
			}
		}
	}
	return nil
}

// ModifiedTime is the parsed modified field.
func (r *Record) ModifiedTime() time.Time { return r.modified }

// IDs is the record's id and its aliases (and Debian's upstream ids).
func (r *Record) IDs() []string {
	out := append([]string{r.ID}, r.Aliases...)
	return append(out, r.Upstream...)
}
