package vuln

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// Severity levels, lowest first. Unknown is below low: a record with no
// CVSS vector and no stated severity (every Go record, most Debian ones).
const (
	SevUnknown  = "unknown"
	SevLow      = "low"
	SevMedium   = "medium"
	SevHigh     = "high"
	SevCritical = "critical"
)

// SeverityRank orders severities: unknown 0, low 1, medium 2, high 3,
// critical 4; -1 for anything else.
func SeverityRank(s string) int {
	switch strings.ToLower(s) {
	case SevUnknown:
		return 0
	case SevLow:
		return 1
	case SevMedium, "moderate":
		return 2
	case SevHigh:
		return 3
	case SevCritical:
		return 4
	}
	return -1
}

// ParseSeverity checks a --fail-on / max_severity value; "unknown" (the
// lowest) means any finding.
func ParseSeverity(s string) (string, error) {
	r := SeverityRank(s)
	if r < 0 {
		return "", fmt.Errorf("severity %q: want critical, high, medium, low or unknown (any finding)", s)
	}
	return []string{SevUnknown, SevLow, SevMedium, SevHigh, SevCritical}[r], nil
}

// Rating is a record's severity, with the CVSS base score and vector it came
// from when there was one.
type Rating struct {
	Severity string  `json:"severity"`
	Score    float64 `json:"score,omitempty"`
	Vector   string  `json:"vector,omitempty"`
}

// rate derives a record's severity: the highest CVSS v3 base score of its
// vectors; else database_specific.severity ("HIGH", "MODERATE", ... as GHSA
// records state it) at the top or in the affected entry; else unknown.
func rate(r *Record, a *Affected) Rating {
	best := Rating{Severity: SevUnknown}
	for _, s := range r.Severity {
		if s.Type != "CVSS_V3" && !strings.HasPrefix(s.Score, "CVSS:3.") {
			continue
		}
		score, err := CVSS3BaseScore(s.Score)
		if err != nil {
			continue
		}
		if best.Vector == "" || score > best.Score {
			best = Rating{Severity: cvssSeverity(score), Score: score, Vector: s.Score}
		}
	}
	if best.Vector != "" {
		return best
	}
	for _, raw := range []json.RawMessage{r.DatabaseSpecific, a.DatabaseSpecific, a.EcosystemSpecific} {
		var ds struct {
			Severity string `json:"severity"`
		}
		if len(raw) > 0 && json.Unmarshal(raw, &ds) == nil && SeverityRank(ds.Severity) > 0 {
			s, _ := ParseSeverity(ds.Severity)
			return Rating{Severity: s}
		}
	}
	return best
}

func cvssSeverity(score float64) string {
	switch {
	case score >= 9.0:
		return SevCritical
	case score >= 7.0:
		return SevHigh
	case score >= 4.0:
		return SevMedium
	case score > 0:
		return SevLow
	}
	return SevUnknown // 0.0 is "none"
}

// CVSS3BaseScore computes the base score of a CVSS v3.0/v3.1 vector
// ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" → 9.8) with the
// specification's formulas and Roundup.
func CVSS3BaseScore(vector string) (float64, error) {
	parts := strings.Split(vector, "/")
	if len(parts) < 9 || !strings.HasPrefix(parts[0], "CVSS:3.") {
		return 0, fmt.Errorf("CVSS vector %q: not CVSS v3", vector)
	}
	m := map[string]string{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, ":")
		if !ok {
			return 0, fmt.Errorf("CVSS vector %q: bad metric %q", vector, p)
		}
		m[k] = v
	}
	pick := func(k string, vals map[string]float64) (float64, error) {
		x, ok := vals[m[k]]
		if !ok {
			return 0, fmt.Errorf("CVSS vector %q: metric %s=%q", vector, k, m[k])
		}
		return x, nil
	}
	scope := m["S"]
	if scope != "U" && scope != "C" {
		return 0, fmt.Errorf("CVSS vector %q: metric S=%q", vector, scope)
	}
	pr := map[string]float64{"N": 0.85, "L": 0.62, "H": 0.27}
	if scope == "C" {
		pr = map[string]float64{"N": 0.85, "L": 0.68, "H": 0.5}
	}
	cia := map[string]float64{"H": 0.56, "L": 0.22, "N": 0}
	var vals [7]float64
	var err error
	for i, s := range []struct {
		k string
		m map[string]float64
	}{
		{"AV", map[string]float64{"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}},
		{"AC", map[string]float64{"L": 0.77, "H": 0.44}},
		{"PR", pr},
		{"UI", map[string]float64{"N": 0.85, "R": 0.62}},
		{"C", cia}, {"I", cia}, {"A", cia},
	} {
		if vals[i], err = pick(s.k, s.m); err != nil {
			return 0, err
		}
	}
	iss := 1 - (1-vals[4])*(1-vals[5])*(1-vals[6])
	var impact float64
	if scope == "U" {
		impact = 6.42 * iss
	} else {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	}
	expl := 8.22 * vals[0] * vals[1] * vals[2] * vals[3]
	if impact <= 0 {
		return 0, nil
	}
	if scope == "U" {
		return roundup(math.Min(impact+expl, 10)), nil
	}
	return roundup(math.Min(1.08*(impact+expl), 10)), nil
}

// roundup is CVSS v3.1's Roundup: the smallest one-decimal number ≥ x,
// computed on integers to avoid floating point surprises.
func roundup(x float64) float64 {
	i := int64(math.Round(x * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000
	}
	return float64(i/10000+1) / 10
}
