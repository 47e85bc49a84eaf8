// Command scanbench times `berth scan` of examples/goapp's image against the
// whole Go vulnerability database (golang.org/x/vulndb's data/osv, 4,700+
// records) plus the Debian fixtures of test/fixtures/osv/debian. Target:
// ≤ 1 s per scan, end to end (process start, image read, match, output).
//
//	go run ./bench/scanbench [-rounds 5]
//
// It builds berth, serves scripts/aptrepo.sh's repository on loopback,
// builds the example with `berth build app --oci-layout`, imports the
// database once (timed too) and scans the layout -rounds times. govulncheck
// is timed on the same binary when it is on PATH (not required).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
	"github.com/berth-dev/berth/test/fixtures"
)

const vulndbModule = "golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018"

func main() { benchkit.Main(run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scanbench", flag.ContinueOnError)
	rounds := fs.Int("rounds", 5, "scans to time")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := bench(ctx, *rounds, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "scanbench:", err)
		return 1
	}
	return 0
}

func bench(ctx context.Context, rounds int, stdout, stderr io.Writer) error {
	progress := func(f string, a ...any) { fmt.Fprintf(stderr, "scanbench: "+f+"\n", a...) }
	root, err := benchkit.ModuleRoot(ctx, "scanbench")
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "scanbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	berth := filepath.Join(work, "berth")
	progress("building berth")
	if err := benchkit.GoBuild(ctx, root, berth, "./cmd/berth"); err != nil {
		return err
	}
	apt, err := fixtures.AptRepoDir()
	if err != nil {
		return err
	}
	if !fixtures.AptRepoComplete(apt) {
		progress("building the apt repository %s", apt)
		if out, err := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "aptrepo.sh"), apt).CombinedOutput(); err != nil {
			return fmt.Errorf("scripts/aptrepo.sh: %v\n%s", err, benchkit.Tail(out, 2000))
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(apt)), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ErrServerClosed on stop
	defer srv.Close()

	ex := filepath.Join(work, "goapp")
	if err := fixtures.CopyTree(filepath.Join(root, "examples", "goapp"), ex); err != nil {
		return err
	}
	env := append(os.Environ(), "BERTH_APT_URL=http://"+l.Addr().String(), "BERTH_CACHE="+filepath.Join(work, "cache"))
	layout := filepath.Join(work, "layout")
	progress("building examples/goapp")
	if _, err := runCmd(ctx, env, berth, "build", "-f", filepath.Join(ex, "berth.yaml"), "app", "--oci-layout", layout); err != nil {
		return err
	}

	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", vulndbModule).Output()
	if err != nil {
		return fmt.Errorf("go mod download %s: %v", vulndbModule, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return err
	}
	osvDir := filepath.Join(mod.Dir, "data", "osv")
	goRecords, _ := filepath.Glob(filepath.Join(osvDir, "*.json"))
	db := filepath.Join(work, "vulndb.db")
	start := time.Now()
	if _, err := runCmd(ctx, env, berth, "vulndb", "import", "--db", db, osvDir, filepath.Join(root, "test", "fixtures", "osv", "debian")); err != nil {
		return err
	}
	importTime := time.Since(start)

	var times []time.Duration
	var result struct {
		Scanned  int `json:"packagesScanned"`
		Findings []struct {
			ID string `json:"id"`
		} `json:"findings"`
	}
	for i := 0; i < rounds; i++ {
		start := time.Now()
		out, err := runCmd(ctx, env, berth, "scan", "--db", db, "--json", "oci-layout:"+layout+":app")
		if err != nil {
			return err
		}
		times = append(times, time.Since(start))
		if err := json.Unmarshal(out, &result); err != nil {
			return err
		}
	}
	// The first scan reads the image (the SBOM inventory, then cached by
	// digest under BERTH_CACHE/sbom); the later ones read the cached
	// inventory, as a scan after berth build --push or ship does.
	cold := times[0]
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	median := times[len(times)/2]

	gv := "not installed"
	if p, err := exec.LookPath("govulncheck"); err == nil {
		gv = "installed at " + p + " (needs a vuln.go.dev-format database, not data/osv: not timed)"
	}
	verdict := "PASS"
	if median > time.Second || cold > time.Second {
		verdict = "MISS"
	}
	fmt.Fprintf(stdout, `## berth scan (examples/goapp)

Host: %s

| step | time |
|------|------|
| berth vulndb import (%d Go records + Debian fixtures) | %s |
| berth scan oci-layout:…:app --json, first (inventory read from the image) | %s |
| berth scan oci-layout:…:app --json, median of %d | %s (min %s, max %s) |

Packages scanned: %d; findings: %d. Target ≤ 1 s per scan: %s.
govulncheck: %s.
`, benchkit.ReadHost(), len(goRecords), importTime.Round(time.Millisecond), cold.Round(time.Millisecond), rounds, median.Round(time.Millisecond),
		times[0].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond), result.Scanned, len(result.Findings), verdict, gv)
	if verdict != "PASS" {
		return fmt.Errorf("scan (first %s, median %s) over the 1 s target", cold, median)
	}
	return nil
}

func runCmd(ctx context.Context, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %v: %v\n%s", name, args, err, benchkit.Tail(errb.Bytes(), 2000))
	}
	return out.Bytes(), nil
}
