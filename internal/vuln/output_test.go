package vuln

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleResult(t *testing.T) *Result {
	t.Helper()
	db := importDB(t, debianFixtures(t))
	vex := &VEX{}
	if err := vex.Add("v.json", []byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"DEBIAN-CVE-2010-4756"},"products":[{"@id":"pkg:deb/debian/libc6"}],"status":"not_affected","justification":"vulnerable_code_not_present"}]}`)); err != nil {
		t.Fatal(err)
	}
	res, err := Scan(Target{Name: "localhost:5000/app:1", Digest: "sha256:" + strings.Repeat("0", 64), Kind: "image"}, []string{zlibOld, libc6}, db, vex)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, sampleResult(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"ID  ", "PACKAGE", "INSTALLED", "FIXED", "SEVERITY", "ALIASES",
		"DEBIAN-CVE-2026-27171  zlib1g (zlib)  1:1.2.13.dfsg-1  1:1.2.13.dfsg-1+deb12u1  unknown   CVE-2026-27171",
		"localhost:5000/app:1: 2 vulnerabilities (2 unknown), 1 suppressed by VEX in 2 packages",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "DEBIAN-CVE-2010-4756") {
		t.Errorf("table lists the suppressed finding:\n%s", out)
	}
}

func TestWriteJSONMarksSuppressed(t *testing.T) {
	var b bytes.Buffer
	WriteJSON(&b, sampleResult(t))
	var r Result
	if err := json.Unmarshal(b.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range r.Findings {
		if f.Suppressed {
			n++
			if f.ID != "DEBIAN-CVE-2010-4756" || f.VEXStatus != "not_affected" {
				t.Errorf("suppressed %+v", f)
			}
		}
	}
	if len(r.Findings) != 3 || n != 1 {
		t.Fatalf("JSON findings %d (suppressed %d), want 3 (1)", len(r.Findings), n)
	}
}

func TestWriteSARIF(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSARIF(&b, sampleResult(t), "1.0.0"); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.1.0" || len(doc.Runs) != 1 || doc.Runs[0].Tool.Driver.Name != "berth" {
		t.Fatalf("SARIF header: %s", b.String())
	}
	run := doc.Runs[0]
	if len(run.Results) != 2 || len(run.Tool.Driver.Rules) != 2 {
		t.Fatalf("SARIF: %d results, %d rules; want 2 and 2 (the suppressed one left out)", len(run.Results), len(run.Tool.Driver.Rules))
	}
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID || r.Locations[0].PhysicalLocation.ArtifactLocation.URI != zlibOld {
			t.Errorf("result %+v", r)
		}
	}
}

func TestWriteCycloneDXVEX(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCycloneDXVEX(&b, sampleResult(t), "1.0.0"); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		BOMFormat    string `json:"bomFormat"`
		SpecVersion  string `json:"specVersion"`
		SerialNumber string `json:"serialNumber"`
		Components   []struct {
			BOMRef string `json:"bom-ref"`
			Purl   string `json:"purl"`
		} `json:"components"`
		Vulnerabilities []struct {
			ID       string                 `json:"id"`
			Affects  []struct{ Ref string } `json:"affects"`
			Analysis struct {
				State         string `json:"state"`
				Justification string `json:"justification"`
			} `json:"analysis"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.BOMFormat != "CycloneDX" || doc.SpecVersion != "1.6" || !strings.HasPrefix(doc.SerialNumber, "urn:uuid:") {
		t.Fatalf("header %s", b.String()[:200])
	}
	refs := map[string]bool{}
	for _, c := range doc.Components {
		refs[c.BOMRef] = true
	}
	states := map[string]string{}
	for _, v := range doc.Vulnerabilities {
		if len(v.Affects) != 1 || !refs[v.Affects[0].Ref] {
			t.Errorf("%s affects %v: not a component bom-ref", v.ID, v.Affects)
		}
		states[v.ID] = v.Analysis.State + "/" + v.Analysis.Justification
	}
	if states["DEBIAN-CVE-2010-4756"] != "not_affected/code_not_present" || states["DEBIAN-CVE-2026-27171"] != "exploitable/" {
		t.Errorf("analysis states %v", states)
	}
}

func TestPredicate(t *testing.T) {
	r := sampleResult(t)
	b, err := Predicate(r, "1.0.0", Stats{Records: 7, Imported: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Scanner struct {
			URI     string `json:"uri"`
			Version string `json:"version"`
			DB      struct {
				Version string `json:"version"`
			} `json:"db"`
			Result Result `json:"result"`
		} `json:"scanner"`
		Metadata struct {
			ScanStartedOn  string `json:"scanStartedOn"`
			ScanFinishedOn string `json:"scanFinishedOn"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Scanner.Version != "1.0.0" || p.Scanner.DB.Version != "2026-12-01T00:00:00Z" || len(p.Scanner.Result.Findings) != 3 || p.Metadata.ScanFinishedOn == "" {
		t.Fatalf("predicate %s", b)
	}
}

func TestCVSS3BaseScore(t *testing.T) {
	for v, want := range map[string]float64{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H": 9.8,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H": 10.0,
		"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H": 7.8,
		"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N": 5.9,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N": 6.1,
		"CVSS:3.0/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N": 1.6,
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N": 0,
	} {
		got, err := CVSS3BaseScore(v)
		if err != nil || got != want {
			t.Errorf("CVSS3BaseScore(%s) = %v, %v; want %v", v, got, err, want)
		}
	}
	for _, bad := range []string{"CVSS:2.0/AV:N", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:Q/C:H/I:H/A:H"} {
		if _, err := CVSS3BaseScore(bad); err == nil {
			t.Errorf("CVSS3BaseScore(%s) accepted", bad)
		}
	}
	r := &Record{Severity: []Severity{{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}}
	if got := rate(r, &Affected{}); got.Severity != SevCritical || got.Score != 9.8 {
		t.Errorf("rate = %+v", got)
	}
	r = &Record{DatabaseSpecific: []byte(`{"severity":"MODERATE"}`)}
	if got := rate(r, &Affected{}); got.Severity != SevMedium {
		t.Errorf("rate(GHSA MODERATE) = %+v", got)
	}
}

// Purls carry '&' between qualifiers: every JSON output writes it as is,
// not as \u0026, so the purls read the same in a terminal or jq.
func TestJSONOutputsDoNotEscapeAmpersand(t *testing.T) {
	r := sampleResult(t)
	for name, write := range map[string]func(*bytes.Buffer) error{
		"json":      func(b *bytes.Buffer) error { return WriteJSON(b, r) },
		"sarif":     func(b *bytes.Buffer) error { return WriteSARIF(b, r, "v") },
		"cyclonedx": func(b *bytes.Buffer) error { return WriteCycloneDXVEX(b, r, "v") },
		"predicate": func(b *bytes.Buffer) error { p, err := Predicate(r, "v", Stats{}); b.Write(p); return err },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), `\u0026`) || !strings.Contains(b.String(), "arch=amd64&distro=debian-12") {
			t.Errorf("%s output escapes '&' or lacks the purl", name)
		}
	}
}
