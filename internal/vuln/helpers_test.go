package vuln

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// debianFixtures is test/fixtures/osv/debian.
func debianFixtures(t testing.TB) string {
	t.Helper()
	d, err := filepath.Abs("../../test/fixtures/osv/debian")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// vulndbModule is the golang.org/x/vulndb version whose data/osv the tests
// import (scripts/deps.sh downloads it).
const vulndbModule = "golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018"

var (
	goOSVOnce sync.Once
	goOSVDir  string
	goOSVErr  string
)

// goOSV is the data/osv directory of the vulndb module in the module cache;
// the test is skipped (with how to fix it) when it is missing, except in
// CI, which must have it.
func goOSV(t testing.TB) string {
	t.Helper()
	goOSVOnce.Do(func() {
		cmd := exec.Command("go", "mod", "download", "-json", vulndbModule)
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		out, err := cmd.Output()
		if err != nil {
			goOSVErr = err.Error()
			return
		}
		for _, line := range strings.Split(string(out), "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.Trim(k, `"`) == "Dir" {
				goOSVDir = filepath.Join(strings.Trim(strings.TrimSpace(v), `",`), "data", "osv")
			}
		}
		if goOSVDir == "" {
			goOSVErr = "no Dir in go mod download output"
		}
	})
	if goOSVDir == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not available (%s): run scripts/deps.sh", vulndbModule, goOSVErr)
		}
		t.Skipf("%s not in the module cache (%s): run scripts/deps.sh", vulndbModule, goOSVErr)
	}
	return goOSVDir
}

// importDB imports sources into a fresh database.
func importDB(t testing.TB, sources ...string) *DB {
	t.Helper()
	p := filepath.Join(t.TempDir(), "vulndb.db")
	if _, err := Import(p, sources); err != nil {
		t.Fatal(err)
	}
	db, err := OpenDB(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func findingIDs(r *Result) []string {
	var out []string
	for _, f := range r.Findings {
		s := f.ID
		if f.Suppressed {
			s += "(suppressed)"
		}
		out = append(out, s)
	}
	return out
}
