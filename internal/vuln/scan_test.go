package vuln

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	zlibOld    = "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib"
	zlibNew    = "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1%2Bdeb12u1?arch=amd64&distro=debian-12&upstream=zlib"
	expatOld   = "pkg:deb/debian/libexpat1@2.5.0-1%2Bdeb12u2?arch=amd64&distro=debian-12&upstream=expat"
	expatNew   = "pkg:deb/debian/libexpat1@2.5.0-1%2Bdeb12u5?arch=amd64&distro=debian-12&upstream=expat"
	libc6      = "pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12&upstream=glibc"
	libc6deb11 = "pkg:deb/debian/libc6@2.31-13%2Bdeb11u5?arch=amd64&distro=debian-11&upstream=glibc"
)

func TestScanDebianBySourcePackage(t *testing.T) {
	db := importDB(t, debianFixtures(t))
	cases := []struct {
		purl string
		want map[string]string // id → fixed
	}{
		{zlibOld, map[string]string{"DEBIAN-CVE-2026-27171": "1:1.2.13.dfsg-1+deb12u1", "DEBIAN-CVE-2026-85091": "1:1.2.13.dfsg-1+deb12u1"}},
		{zlibNew, map[string]string{}},
		// deb12u2 is CVE-2023-52425's fixed version itself: not affected.
		{expatOld, map[string]string{"DEBIAN-CVE-2024-28757": "2.5.0-1+deb12u4"}},
		{expatNew, map[string]string{}},
		// Past DSA-5514-1's fix; the unfixed CVE stays.
		{libc6, map[string]string{"DEBIAN-CVE-2010-4756": ""}},
		// deb12u14 > deb12u3 in Debian ordering (not as strings): past DSA-5514-1.
		{"pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12&upstream=glibc", map[string]string{"DEBIAN-CVE-2010-4756": ""}},
		// Debian 11 uses the Debian:11 part of DSA-5514-1 only.
		{libc6deb11, map[string]string{"DSA-5514-1": "2.31-13+deb11u7"}},
		// nginx: the only record is for Debian 7.
		{"pkg:deb/debian/nginx-light@1.22.1-9?arch=amd64&distro=debian-12&upstream=nginx", map[string]string{}},
		// The binary name without upstream= does not match a source record.
		{"pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12", map[string]string{}},
		// upstream=SRC@VERSION: the source version is what is compared.
		{"pkg:deb/debian/libz-binnmu@9.9?arch=amd64&distro=debian-12&upstream=zlib%401%3A1.2.13.dfsg-1", map[string]string{"DEBIAN-CVE-2026-27171": "1:1.2.13.dfsg-1+deb12u1", "DEBIAN-CVE-2026-85091": "1:1.2.13.dfsg-1+deb12u1"}},
	}
	for _, c := range cases {
		res, err := Scan(Target{Name: "t"}, []string{c.purl}, db, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.purl, err)
		}
		got := map[string]string{}
		for _, f := range res.Findings {
			got[f.ID] = f.Fixed
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Scan(%s) = %v, want %v", c.purl, got, c.want)
		}
	}
}

// TestScanGoVulnDBNoFalseNegatives checks every SEMVER range of every record
// of golang.org/x/vulndb: the introduced version (or the lowest version when
// introduced is "0") is reported with the range's fixed version, and the
// fixed version itself is not reported (unless another range of the same
// record covers it).
func TestScanGoVulnDBNoFalseNegatives(t *testing.T) {
	db := importDB(t, goOSV(t))
	files, _ := filepath.Glob(filepath.Join(goOSV(t), "*.json"))
	if len(files) < 4700 {
		t.Fatalf("vulndb has %d records, want 4,700+", len(files))
	}
	checked := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ParseRecord(file, data)
		if err != nil {
			t.Fatal(err)
		}
		if r.Withdrawn != "" {
			continue
		}
		for _, a := range r.Affected {
			for _, rg := range a.Ranges {
				if rg.Type != "SEMVER" {
					continue
				}
				var intro string
				for _, e := range rg.Events {
					switch {
					case e.Introduced != "":
						intro = e.Introduced
					case e.Fixed != "":
						if intro == "" {
							continue
						}
						v := intro
						if v == "0" {
							v = "0.0.0-00010101000000-000000000000"
						}
						got := scanOne(t, db, a.Package.Name, v)
						if _, ok := got[r.ID]; !ok {
							t.Errorf("%s: %s@%s (introduced) not reported", r.ID, a.Package.Name, v)
						}
						if !coveredElsewhere(r, a.Package.Name, e.Fixed) {
							if _, ok := scanOne(t, db, a.Package.Name, e.Fixed)[r.ID]; ok {
								t.Errorf("%s: %s@%s (the fixed version) reported", r.ID, a.Package.Name, e.Fixed)
							}
						}
						checked++
						intro = ""
					}
				}
			}
		}
	}
	if checked < 4700 {
		t.Fatalf("checked %d ranges, want the whole database", checked)
	}
	t.Logf("%d records, %d ranges checked", len(files), checked)
}

func scanOne(t *testing.T, db *DB, module, version string) map[string]string {
	t.Helper()
	purl := "pkg:golang/" + module + "@v" + version
	if module == "stdlib" {
		purl = "pkg:golang/stdlib@" + version
	}
	res, err := Scan(Target{Name: "t"}, []string{purl}, db, nil)
	if err != nil {
		t.Fatalf("%s: %v", purl, err)
	}
	out := map[string]string{}
	for _, f := range res.Findings {
		out[f.ID] = f.Fixed
	}
	return out
}

// coveredElsewhere: another range of the record (for the same package)
// re-introduces at or below v.
func coveredElsewhere(r *Record, name, v string) bool {
	q := query{version: v, compare: compareSemver, valid: validSemver}
	n := 0
	for _, a := range r.Affected {
		if a.Package.Name == name && match(a, q).Affected {
			n++
		}
	}
	return n > 0
}

func TestScanGoKnownAdvisories(t *testing.T) {
	db := importDB(t, goOSV(t))
	res, err := Scan(Target{Name: "t"}, []string{
		"pkg:golang/golang.org/x/text@v0.3.7",
		"pkg:golang/stdlib@1.22.3",
		"pkg:golang/golang.org/x/text@v0.43.0",
		"pkg:golang/example.com/app@(devel)",
		"pkg:golang/stdlib", // no version: skipped (the fuzzer found this panicking)
	}, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	byPkg := map[string]map[string]string{}
	for _, f := range res.Findings {
		if byPkg[f.Package] == nil {
			byPkg[f.Package] = map[string]string{}
		}
		byPkg[f.Package][f.ID] = f.Fixed
	}
	// GO-2022-1059 (CVE-2022-32149): x/text language.ParseAcceptLanguage, fixed in 0.3.8.
	if byPkg["golang.org/x/text"]["GO-2022-1059"] != "0.3.8" {
		t.Errorf("x/text v0.3.7: findings %v, want GO-2022-1059 fixed in 0.3.8", byPkg["golang.org/x/text"])
	}
	// GO-2024-2887 (CVE-2024-24790): net/netip, fixed in 1.21.11 and 1.22.4.
	if byPkg["stdlib"]["GO-2024-2887"] != "1.22.4" {
		t.Errorf("stdlib 1.22.3: want GO-2024-2887 fixed in 1.22.4; got %d findings", len(byPkg["stdlib"]))
	}
	for _, f := range res.Findings {
		if f.Installed == "v0.43.0" {
			t.Errorf("x/text v0.43.0 reported: %s", f.ID)
		}
	}
	if res.Scanned != 4 || len(res.Skipped) != 2 {
		t.Errorf("scanned %d, skipped %v; want 4 scanned, the (devel) module and the versionless stdlib skipped", res.Scanned, res.Skipped)
	}
}

func TestGoToolchainSemver(t *testing.T) {
	for in, want := range map[string]string{
		"go1.22.3": "1.22.3", "1.22.3": "1.22.3", "go1.21": "1.21.0", "go1.23rc1": "1.23.0-rc.1",
		"go1.22.3 X:boringcrypto": "1.22.3", "go1": "1.0.0", "": "", " ": "",
	} {
		if got := goToolchainSemver(in); got != want {
			t.Errorf("goToolchainSemver(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFailOn(t *testing.T) {
	r := &Result{Findings: []Finding{
		{ID: "A", Package: "p", Installed: "1", Fixed: "2", Rating: Rating{Severity: SevHigh}},
		{ID: "B", Package: "q", Installed: "1", Rating: Rating{Severity: SevCritical}, Suppressed: true},
		{ID: "C", Package: "r", Installed: "1", Rating: Rating{Severity: SevUnknown}},
	}}
	for sev, fails := range map[string]bool{"critical": false, "high": true, "medium": true, "low": true, "unknown": true} {
		err := r.FailOn(sev)
		if (err != nil) != fails {
			t.Errorf("FailOn(%s) = %v, want failure %v", sev, err, fails)
		}
	}
	if err := r.FailOn("high"); err == nil || !strings.Contains(err.Error(), "A (high) in p 1, fixed in 2") {
		t.Errorf("FailOn(high) = %v", err)
	}
	for max, refuses := range map[string]bool{"critical": false, "high": false, "medium": true, "unknown": true} {
		if err := r.Exceeds(max); (err != nil) != refuses {
			t.Errorf("Exceeds(%s) = %v, want refusal %v", max, err, refuses)
		}
	}
	if err := r.Exceeds("medium"); err == nil || !strings.Contains(err.Error(), "1 finding(s) above medium: worst A (high)") {
		t.Errorf("Exceeds(medium) = %v", err)
	}
	if err := r.FailOn("severe"); err == nil || !strings.Contains(err.Error(), `"severe"`) {
		t.Errorf("FailOn(severe) = %v", err)
	}
}
