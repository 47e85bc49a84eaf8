package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// berth vulndb import + berth scan --sbom through the root command: the
// table, --json, --fail-on's exit and the argument rules.
func TestScanSBOMCommand(t *testing.T) {
	t.Setenv("BERTH_CACHE", t.TempDir())
	fixtures, _ := filepath.Abs("../../test/fixtures/osv/debian")
	out, _, err := runCLI(t, "vulndb", "import", fixtures)
	if err != nil || !strings.Contains(out, "7 records read, 7 added") {
		t.Fatalf("vulndb import: %q, %v", out, err)
	}
	sbom := filepath.Join(t.TempDir(), "app.cdx.json")
	os.WriteFile(sbom, []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
	  {"type":"library","name":"zlib1g","purl":"pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&upstream=zlib&distro=debian-12"},
	  {"type":"library","name":"libexpat1","purl":"pkg:deb/debian/libexpat1@2.5.0-1+deb12u5?arch=amd64&upstream=expat&distro=debian-12"}]}`), 0o644)

	out, _, err = runCLI(t, "scan", "--sbom", sbom)
	if err != nil || !strings.Contains(out, "DEBIAN-CVE-2026-27171") || !strings.Contains(out, "1:1.2.13.dfsg-1+deb12u1") ||
		!strings.Contains(out, "2 vulnerabilities (2 unknown) in 2 packages") {
		t.Fatalf("scan --sbom: %v\n%s", err, out)
	}
	_, _, err = runCLI(t, "scan", "--sbom", sbom, "--fail-on", "unknown")
	if err == nil || !strings.Contains(err.Error(), "2 finding(s) at or above unknown: worst DEBIAN-CVE-2026-27171") {
		t.Fatalf("--fail-on unknown: %v", err)
	}
	if _, _, err := runCLI(t, "scan", "--sbom", sbom, "--fail-on", "high"); err != nil {
		t.Fatalf("--fail-on high with only unknown findings: %v", err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"scan"}, "scan needs an IMAGE or --sbom FILE"},
		{[]string{"scan", "img", "--sbom", sbom}, "not both"},
		{[]string{"scan", "--sbom", sbom, "--format", "xml"}, `--format "xml"`},
		{[]string{"scan", "--sbom", sbom, "--json", "--format", "sarif"}, "choose one"},
		{[]string{"scan", "--sbom", sbom, "--fail-on", "severe"}, "--fail-on"},
		{[]string{"scan", "--sbom", sbom, "--db", filepath.Join(t.TempDir(), "none.db")}, "berth vulndb import"},
	} {
		_, _, err := runCLI(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("berth %v: %v, want %q", c.args, err, c.want)
		}
	}
}
