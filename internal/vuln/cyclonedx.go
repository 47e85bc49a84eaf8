package vuln

import (
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// WriteCycloneDXVEX prints the result as a CycloneDX 1.6 BOM carrying a
// vulnerabilities[] entry per finding (suppressed ones with the VEX
// analysis state), each affecting its component by bom-ref (the purl).
func WriteCycloneDXVEX(w io.Writer, r *Result, version string) error {
	type rating struct {
		Severity string  `json:"severity"`
		Score    float64 `json:"score,omitempty"`
		Method   string  `json:"method,omitempty"`
		Vector   string  `json:"vector,omitempty"`
	}
	type ref struct {
		Ref string `json:"ref"`
	}
	type analysis struct {
		State         string `json:"state"`
		Justification string `json:"justification,omitempty"`
		Detail        string `json:"detail,omitempty"`
	}
	type source struct {
		Name string `json:"name,omitempty"`
		URL  string `json:"url,omitempty"`
	}
	type advisoryRef struct {
		ID     string `json:"id"`
		Source source `json:"source"`
	}
	type vuln struct {
		BOMRef         string        `json:"bom-ref"`
		ID             string        `json:"id"`
		Source         source        `json:"source"`
		References     []advisoryRef `json:"references,omitempty"`
		Ratings        []rating      `json:"ratings"`
		Description    string        `json:"description,omitempty"`
		Recommendation string        `json:"recommendation,omitempty"`
		Analysis       analysis      `json:"analysis"`
		Affects        []ref         `json:"affects"`
	}
	type component struct {
		Type    string `json:"type"`
		BOMRef  string `json:"bom-ref"`
		Name    string `json:"name"`
		Version string `json:"version,omitempty"`
		Purl    string `json:"purl"`
	}
	comps := map[string]component{}
	var vulns []vuln
	for i, f := range r.Findings {
		comps[f.Purl] = component{Type: "library", BOMRef: f.Purl, Name: f.Package, Version: f.Installed, Purl: f.Purl}
		rt := rating{Severity: f.Severity, Score: f.Score, Vector: f.Vector}
		if f.Vector != "" {
			rt.Method = "CVSSv31"
			if len(f.Vector) > 8 && f.Vector[:8] == "CVSS:3.0" {
				rt.Method = "CVSSv3"
			}
		}
		a := analysis{State: "exploitable"}
		if f.Suppressed {
			a = analysis{State: "not_affected", Justification: cdxJustification(f.Justification), Detail: "OpenVEX " + f.SuppressedBy}
			if f.VEXStatus == "fixed" {
				a = analysis{State: "resolved", Detail: "OpenVEX " + f.SuppressedBy}
			}
		}
		v := vuln{
			BOMRef: f.ID + "/" + strconv.Itoa(i), ID: f.ID, Source: source{Name: sourceName(f.ID), URL: helpURI(f.ID)},
			Ratings: []rating{rt}, Description: f.Summary, Analysis: a, Affects: []ref{{f.Purl}},
		}
		for _, al := range f.Aliases {
			v.References = append(v.References, advisoryRef{ID: al, Source: source{Name: sourceName(al), URL: helpURI(al)}})
		}
		if f.Fixed != "" {
			v.Recommendation = "Upgrade " + f.Package + " to " + f.Fixed + " or later"
		}
		vulns = append(vulns, v)
	}
	keys := make([]string, 0, len(comps))
	for k := range comps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	components := []component{}
	for _, k := range keys {
		components = append(components, comps[k])
	}
	if vulns == nil {
		vulns = []vuln{}
	}
	subject := map[string]any{"type": "container", "name": r.Target.Name, "bom-ref": "target"}
	if r.Target.Kind != "image" {
		subject["type"] = "application"
	}
	if r.Target.Digest != "" {
		subject["hashes"] = []map[string]string{{"alg": "SHA-256", "content": trimAlg(r.Target.Digest)}}
	}
	doc := map[string]any{
		"bomFormat":    "CycloneDX",
		"specVersion":  "1.6",
		"serialNumber": "urn:uuid:" + uuid.NewString(),
		"version":      1,
		"metadata": map[string]any{
			"timestamp": r.FinishedOn.Format(time.RFC3339),
			"tools":     map[string]any{"components": []map[string]string{{"type": "application", "name": "berth", "version": version}}},
			"component": subject,
		},
		"components":      components,
		"vulnerabilities": vulns,
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

// cdxJustification maps OpenVEX justifications onto CycloneDX's.
func cdxJustification(j string) string {
	switch j {
	case "component_not_present", "vulnerable_code_not_present":
		return "code_not_present"
	case "vulnerable_code_not_in_execute_path":
		return "code_not_reachable"
	case "vulnerable_code_cannot_be_controlled_by_adversary":
		return "requires_environment"
	case "inline_mitigations_already_exist":
		return "protected_by_mitigating_control"
	}
	return ""
}

func sourceName(id string) string {
	switch {
	case len(id) > 3 && id[:3] == "GO-":
		return "Go Vulnerability Database"
	case len(id) > 4 && id[:4] == "CVE-":
		return "NVD"
	case len(id) > 4 && (id[:4] == "DSA-" || id[:4] == "DLA-"):
		return "Debian"
	case len(id) > 5 && id[:5] == "GHSA-":
		return "GitHub"
	}
	return "OSV"
}

func trimAlg(d string) string {
	if len(d) > 7 && d[:7] == "sha256:" {
		return d[7:]
	}
	return d
}
