package trust_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/trust"
	"github.com/berth-dev/berth/internal/vuln"
)

// RunScan over an SBOM file: the report in the format asked, --fail-on's
// error after the report, and every input checked before the database.
func TestRunScanSBOM(t *testing.T) {
	cache := trust.Cache{Dir: t.TempDir()}
	db, _ := cache.VulnDB("")
	if _, err := vuln.Import(db, []string{"../../test/fixtures/osv/debian"}); err != nil {
		t.Fatal(err)
	}
	sbom := filepath.Join(t.TempDir(), "app.cdx.json")
	if err := os.WriteFile(sbom, []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
	  {"type":"library","name":"zlib1g","purl":"pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&upstream=zlib&distro=debian-12"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(mod func(*trust.ScanRequest)) (string, *vuln.Result, error) {
		var out bytes.Buffer
		r := trust.ScanRequest{SBOM: sbom, Cache: cache, Out: &out, Log: &out, Version: "test"}
		mod(&r)
		res, err := trust.RunScan(context.Background(), r)
		return out.String(), res, err
	}

	out, res, err := run(func(*trust.ScanRequest) {})
	if err != nil || res.Target.Kind != "sbom" || !strings.Contains(out, "DEBIAN-CVE-2026-27171") || res.Database != db {
		t.Fatalf("table: %v, %+v\n%s", err, res, out)
	}
	out, res, err = run(func(r *trust.ScanRequest) { r.Format, r.FailOn = "json", "unknown" })
	if err == nil || !strings.Contains(err.Error(), "at or above unknown") || res == nil || !strings.Contains(out, `"findings"`) {
		t.Fatalf("json --fail-on unknown: %v\n%s", err, out)
	}
	for _, c := range []struct {
		mod  func(*trust.ScanRequest)
		want string
	}{
		{func(r *trust.ScanRequest) { r.Format = "xml" }, `--format "xml"`},
		{func(r *trust.ScanRequest) { r.FailOn = "severe" }, "--fail-on"},
		{func(r *trust.ScanRequest) { r.VEX = []string{filepath.Join(t.TempDir(), "none.json")} }, "none.json"},
		{func(r *trust.ScanRequest) {
			r.KeyPath, r.Prompt = filepath.Join(t.TempDir(), "none.key"), envPrompt("pw")
		}, "none.key"},
		{func(r *trust.ScanRequest) { r.Cache = trust.Cache{Err: os.ErrNotExist} }, "not exist"},
	} {
		out, _, err := run(c.mod)
		if err == nil || !strings.Contains(err.Error(), c.want) || out != "" {
			t.Errorf("err %v (want %q), output %q", err, c.want, out)
		}
	}
}

func TestCheckScanArgs(t *testing.T) {
	if err := trust.CheckScanArgs([]string{"img"}, "", true, "k.key"); err != nil {
		t.Errorf("image, --attest --key: %v", err)
	}
	if err := trust.CheckScanArgs(nil, "app.spdx.json", false, ""); err != nil {
		t.Errorf("--sbom: %v", err)
	}
	for _, tc := range []struct {
		args      []string
		sbom, key string
		attest    bool
		want      string
	}{
		{nil, "", "", false, "needs an IMAGE or --sbom FILE"},
		{[]string{"a", "b"}, "", "", false, "needs an IMAGE or --sbom FILE"},
		{[]string{"a"}, "s.json", "", false, "not both"},
		{nil, "s.json", "", true, "--attest attaches the scan to an image"},
		{[]string{"a"}, "", "k.key", false, "--key signs the attestation"},
	} {
		if err := trust.CheckScanArgs(tc.args, tc.sbom, tc.attest, tc.key); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc, err, tc.want)
		}
	}
}
