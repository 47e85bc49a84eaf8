package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The acceptance test of `berth scan`: one image built with a vulnerable
// pinned Debian package and one with its fixed version, scanned against the
// real advisories of test/fixtures/osv/debian and the whole Go vulnerability
// database.

var (
	zlibRepoOnce sync.Once
	zlibRepoErr  error
	zlibRepoLog  string
)

// zlibAptRepo is a scripts/aptrepo.sh repository whose two-version package
// is zlib1g: bookworm has 1:1.2.13.dfsg-1 (vulnerable to DEBIAN-CVE-2026-27171
// and -85091), bookworm-updates the bookworm-security fix 1:1.2.13.dfsg-1+deb12u1.
func zlibAptRepo(t testing.TB) string {
	t.Helper()
	dir := aptRepoDir() + "-zlib"
	zlibRepoOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), aptRepoTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(suite.repoRoot, "scripts", "aptrepo.sh"), dir, "base-files", "zlib1g")
		cmd.Env = append(os.Environ(), "TWO_VERSION_PKG=zlib1g")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		zlibRepoErr, zlibRepoLog = cmd.Run(), out.String()
	})
	if zlibRepoErr != nil {
		skipOrFail(t, "scripts/aptrepo.sh %s: %v\n%s", dir, zlibRepoErr, zlibRepoLog)
	}
	return dir
}

const zlibBerthYAML = `repositories:
  - name: bookworm
    url: ${BERTH_APT_URL}
    suite: bookworm
    components: [main]
%UPDATES%
images:
  zimg:
    from: scratch
    platform: linux/amd64
    layers:
      - name: os
        debs:
          packages: [base-files, zlib1g]
`

const zlibUpdates = `  - name: bookworm-updates
    url: ${BERTH_APT_URL}
    suite: bookworm-updates
    components: [main]
`

// vulndbOSV is golang.org/x/vulndb's data/osv in the module cache
// (scripts/deps.sh downloads the module).
func vulndbOSV(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", "golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018").Output()
	if err != nil {
		skipOrFail(t, "golang.org/x/vulndb not downloadable (run scripts/deps.sh): %v", err)
	}
	var m struct{ Dir string }
	mustJSON(t, string(out), &m)
	return filepath.Join(m.Dir, "data", "osv")
}

type scanFinding struct {
	ID, Package, Installed, Fixed, Severity string
	Suppressed                              bool
}

func TestScanVulnerableAndFixedImages(t *testing.T) {
	t.Parallel()
	if suite.berthBin == "" {
		t.Skipf("%s=%s: the scan test needs berth", registryEnv, suite.kind)
	}
	env := &buildEnv{AptURL: serveDir(t, zlibAptRepo(t), nil), Cache: t.TempDir()}
	tmp := t.TempDir()
	db := filepath.Join(tmp, "vulndb.db")
	env.berth(t, "vulndb", "import", "--db", db, vulndbOSV(t), filepath.Join(suite.repoRoot, "test", "fixtures", "osv", "debian"))

	build := func(name, updates string) string {
		dir := filepath.Join(tmp, name)
		writeFile(t, dir, "berth.yaml", strings.Replace(zlibBerthYAML, "%UPDATES%", updates, 1))
		layout := filepath.Join(tmp, name+"-layout")
		env.build1(t, dir, "zimg", "--oci-layout", layout)
		v, repo := lockedVersion(t, filepath.Join(dir, "berth.lock"), "zimg", "os", "zlib1g")
		t.Logf("%s: zlib1g %s from %s", name, v, repo)
		return "oci-layout:" + layout + ":zimg"
	}
	vulnerable := build("vulnerable", "")
	fixed := build("fixed", zlibUpdates)

	scan := func(args ...string) []scanFinding {
		var r struct{ Findings []scanFinding }
		mustJSON(t, env.berth(t, append([]string{"scan", "--db", db, "--json"}, args...)...), &r)
		return r.Findings
	}
	ids := func(fs []scanFinding) string {
		var s []string
		for _, f := range fs {
			x := f.ID + " " + f.Package + " " + f.Installed + " -> " + f.Fixed
			if f.Suppressed {
				x += " (suppressed)"
			}
			s = append(s, x)
		}
		return strings.Join(s, "; ")
	}

	// The vulnerable image: both zlib advisories, with the fixed version;
	// and glibc's unfixed CVE (no fixed version = vulnerable).
	got := ids(scan(vulnerable))
	for _, want := range []string{
		"DEBIAN-CVE-2026-27171 zlib1g 1:1.2.13.dfsg-1 -> 1:1.2.13.dfsg-1+deb12u1",
		"DEBIAN-CVE-2026-85091 zlib1g 1:1.2.13.dfsg-1 -> 1:1.2.13.dfsg-1+deb12u1",
		"DEBIAN-CVE-2010-4756 libc6 ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("vulnerable image: findings %q lack %q", got, want)
		}
	}
	if strings.Contains(got, "DSA-5514-1") || strings.Contains(got, "DSA-3029-1") {
		t.Errorf("vulnerable image: findings %q include an advisory fixed before its glibc or for another release", got)
	}
	// The table names the advisory and the fixed version; --fail-on exits 1.
	r := env.berthFail(t, "scan", "--db", db, vulnerable, "--fail-on", "unknown")
	if !strings.Contains(r.Stdout, "DEBIAN-CVE-2026-27171") || !strings.Contains(r.Stdout, "1:1.2.13.dfsg-1+deb12u1") ||
		!strings.Contains(r.Stderr, "at or above unknown") {
		t.Errorf("scan --fail-on unknown of the vulnerable image:\nstdout:\n%s\nstderr:\n%s", r.Stdout, r.Stderr)
	}

	// The fixed image: nothing of zlib; only the unfixed glibc CVE.
	got = ids(scan(fixed))
	if strings.Contains(got, "zlib") || !strings.Contains(got, "DEBIAN-CVE-2010-4756 libc6") || strings.Count(got, ";") != 0 {
		t.Errorf("fixed image: findings %q, want only DEBIAN-CVE-2010-4756", got)
	}

	// A VEX statement silences exactly its finding: glibc's CVE in both
	// images (by its alias), nothing else.
	vex := writeFile(t, tmp, "vex/glibc.json", `{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex/glibc-glob",
  "author": "platform team",
  "timestamp": "2026-12-07T00:00:00Z",
  "version": 1,
  "statements": [{
    "vulnerability": {"name": "CVE-2010-4756"},
    "products": [{"@id": "pkg:deb/debian/libc6"}],
    "status": "not_affected",
    "justification": "vulnerable_code_not_in_execute_path"
  }]
}`)
	got = ids(scan(vulnerable, "--vex", filepath.Dir(vex)))
	if !strings.Contains(got, "DEBIAN-CVE-2010-4756 libc6 2.36-9+deb12u") || !strings.Contains(got, "(suppressed)") ||
		strings.Count(got, "(suppressed)") != 1 || !strings.Contains(got, "DEBIAN-CVE-2026-27171 zlib1g 1:1.2.13.dfsg-1 -> 1:1.2.13.dfsg-1+deb12u1;") {
		t.Errorf("vulnerable image with VEX: %q, want only the glibc finding suppressed", got)
	}
	out := env.berth(t, "scan", "--db", db, fixed, "--vex", vex, "--fail-on", "unknown")
	if !strings.Contains(out, "no vulnerabilities found") || !strings.Contains(out, "1 suppressed by VEX") {
		t.Errorf("fixed image with VEX:\n%s", out)
	}
}
