package vuln

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteSARIF prints the unsuppressed findings as SARIF 2.1.0 (one rule per
// vulnerability id, one result per finding; GitHub code scanning reads
// properties.security-severity).
func WriteSARIF(w io.Writer, r *Result, version string) error {
	type msg struct {
		Text string `json:"text"`
	}
	type rule struct {
		ID               string         `json:"id"`
		Name             string         `json:"name"`
		ShortDescription msg            `json:"shortDescription"`
		FullDescription  msg            `json:"fullDescription"`
		HelpURI          string         `json:"helpUri,omitempty"`
		Properties       map[string]any `json:"properties"`
	}
	type location struct {
		PhysicalLocation struct {
			ArtifactLocation struct {
				URI string `json:"uri"`
			} `json:"artifactLocation"`
		} `json:"physicalLocation"`
	}
	type result struct {
		RuleID     string         `json:"ruleId"`
		RuleIndex  int            `json:"ruleIndex"`
		Level      string         `json:"level"`
		Message    msg            `json:"message"`
		Locations  []location     `json:"locations"`
		Properties map[string]any `json:"properties,omitempty"`
	}
	var rules []rule
	index := map[string]int{}
	var results []result
	for _, f := range r.Active() {
		i, ok := index[f.ID]
		if !ok {
			i = len(rules)
			index[f.ID] = i
			desc := f.Summary
			if desc == "" {
				desc = f.ID
			}
			props := map[string]any{"tags": []string{"vulnerability", "security", f.Severity}}
			if f.Score > 0 {
				props["security-severity"] = fmt.Sprintf("%.1f", f.Score)
			} else if s := severityScore(f.Severity); s != "" {
				props["security-severity"] = s
			}
			rules = append(rules, rule{ID: f.ID, Name: "PackageVulnerability", ShortDescription: msg{f.ID + ": " + desc},
				FullDescription: msg{desc}, HelpURI: helpURI(f.ID), Properties: props})
		}
		fixed := "no fix yet"
		if f.Fixed != "" {
			fixed = "fixed in " + f.Fixed
		}
		var loc location
		loc.PhysicalLocation.ArtifactLocation.URI = f.Purl
		results = append(results, result{
			RuleID: f.ID, RuleIndex: i, Level: sarifLevel(f.Severity),
			Message:    msg{fmt.Sprintf("%s %s in %s is vulnerable (%s, %s); %s", f.Package, f.Installed, r.Target.Name, f.ID, f.Severity, fixed)},
			Locations:  []location{loc},
			Properties: map[string]any{"purl": f.Purl, "installed": f.Installed, "fixed": f.Fixed, "aliases": f.Aliases},
		})
	}
	if rules == nil {
		rules = []rule{}
		results = []result{}
	}
	doc := map[string]any{
		"version": "2.1.0",
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{
				"name": "berth", "informationUri": "https://github.com/berth-dev/berth", "version": version, "rules": rules,
			}},
			"results": results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

func sarifLevel(sev string) string {
	switch sev {
	case SevCritical, SevHigh:
		return "error"
	case SevMedium:
		return "warning"
	}
	return "note"
}

// severityScore is a representative score for a severity without a vector
// (what GitHub's security-severity buckets expect).
func severityScore(sev string) string {
	return map[string]string{SevCritical: "9.0", SevHigh: "7.0", SevMedium: "4.0", SevLow: "0.1"}[sev]
}

func helpURI(id string) string {
	switch {
	case strings.HasPrefix(id, "GO-"):
		return "https://pkg.go.dev/vuln/" + id
	case strings.HasPrefix(id, "CVE-"), strings.HasPrefix(id, "DSA-"), strings.HasPrefix(id, "DLA-"):
		return "https://security-tracker.debian.org/tracker/" + id
	}
	return "https://osv.dev/vulnerability/" + id
}
