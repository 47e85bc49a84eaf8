// Command sbombench measures what recording SBOMs and provenance costs
// berth build, and berth's SBOM generation against syft's, on
// examples/goapp (a Go app on a distroless-like Debian base):
//
//	go run ./bench/sbombench            # 3 rounds
//	go run ./bench/sbombench -rounds 1 -md out.md
//
// Steps, each round:
//
//	cold+push   BERTH_CACHE empty: `berth build app --push`, which attaches
//	            the SPDX, CycloneDX and provenance attestations; berth
//	            reports the time that took ("attached 3 attestations … (T)")
//	noop+push   the same again: the image is unchanged, its inventory comes
//	            from the cache by digest
//	sbom        `berth sbom oci-layout:DIR:app` (generated from the image)
//	            vs `syft scan oci-dir:DIR -o spdx-json` on the same layout
//
// Targets (issue 11): attestations add ≤5% to the cold build and ≤20 ms to
// the no-op rebuild.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
	"github.com/berth-dev/berth/test/fixtures"
)

type options struct {
	benchkit.Flags
	rounds   int
	berthBin string
	syftBin  string
	aptRepo  string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("sbombench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	aptRepo, _ := fixtures.AptRepoDir()
	fs.IntVar(&o.rounds, "rounds", 3, "measure every step this many times and report the median")
	fs.StringVar(&o.berthBin, "berth-bin", "", "prebuilt berth binary (default: go build ./cmd/berth)")
	fs.StringVar(&o.syftBin, "syft-bin", "", "syft binary (default: bin/syft, then syft in PATH; none: no comparison)")
	fs.StringVar(&o.aptRepo, "aptrepo", aptRepo, "local apt repository (scripts/aptrepo.sh)")
	o.Register(fs, "workspace, caches, registry, logs")
	if err := benchkit.Parse(fs, args); err != nil {
		return o, err
	}
	if o.rounds < 1 {
		return o, fmt.Errorf("-rounds %d: need at least 1", o.rounds)
	}
	return o, nil
}

func main() {
	benchkit.Main(func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		return benchkit.Run(ctx, "sbombench", args, stdout, stderr, parseFlags, bench)
	})
}

// round is one round's measurements, in milliseconds.
type round struct {
	ColdTotal, ColdAttach float64
	NoopTotal, NoopAttach float64
	BerthSBOM, SyftSBOM   float64
}

var attachedRE = regexp.MustCompile(`attached \d+ attestations to \S+ \(([^)]+)\)`)

func bench(ctx context.Context, o options, progress io.Writer) (benchkit.Result, error) {
	say := benchkit.Progress(progress, "sbombench")
	if !fixtures.AptRepoComplete(o.aptRepo) {
		return benchkit.Result{}, fmt.Errorf("%s is not a complete apt repository: run bash scripts/aptrepo.sh %s", o.aptRepo, o.aptRepo)
	}
	root, err := benchkit.ModuleRoot(ctx, "sbombench")
	if err != nil {
		return benchkit.Result{}, err
	}
	work, done, err := benchkit.WorkDir("", "sbombench", o.Keep, progress)
	if err != nil {
		return benchkit.Result{}, err
	}
	defer done()
	berth := o.berthBin
	if berth == "" {
		berth = filepath.Join(work, "berth")
		say("building berth")
		if err := benchkit.GoBuild(ctx, root, berth, "./cmd/berth"); err != nil {
			return benchkit.Result{}, err
		}
	}
	syft := o.syftBin
	if syft == "" {
		if p := filepath.Join(root, "bin", "syft"); fileExists(p) {
			syft = p
		} else if p, err := exec.LookPath("syft"); err == nil {
			syft = p
		}
	}
	// The apt repository over HTTP on loopback, and berth's registry.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return benchkit.Result{}, err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(o.aptRepo))}
	go srv.Serve(ln)
	defer srv.Close()
	addr, err := benchkit.FreeAddr()
	if err != nil {
		return benchkit.Result{}, err
	}
	reg, err := benchkit.StartChild("registry", filepath.Join(work, "registry.log"),
		exec.CommandContext(ctx, berth, "registry", "serve", "--addr", addr, "--root", filepath.Join(work, "registry")))
	if err != nil {
		return benchkit.Result{}, err
	}
	defer reg.Stop(5 * time.Second)
	if err := reg.WaitReady(ctx, 30*time.Second, func() error { return benchkit.GetOK(http.DefaultClient, "http://"+addr+"/v2/") }); err != nil {
		return benchkit.Result{}, err
	}
	app := filepath.Join(work, "goapp")
	if err := fixtures.CopyTree(filepath.Join(root, "examples", "goapp"), app); err != nil {
		return benchkit.Result{}, err
	}
	file := filepath.Join(app, "berth.yaml")
	env := func(cache string) []string {
		return append(os.Environ(), "BERTH_APT_URL=http://"+ln.Addr().String(), "BERTH_CACHE="+cache)
	}
	run := func(cache string, args ...string) (time.Duration, string, error) {
		cmd := exec.CommandContext(ctx, berth, args...)
		cmd.Env = env(cache)
		var stderr strings.Builder
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		start := time.Now()
		err := cmd.Run()
		took := time.Since(start)
		if err != nil {
			return took, stderr.String(), fmt.Errorf("berth %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return took, stderr.String(), nil
	}
	attachTime := func(stderr string) (float64, error) {
		m := attachedRE.FindStringSubmatch(stderr)
		if m == nil {
			return 0, fmt.Errorf("berth build --push did not report attaching attestations:\n%s", stderr)
		}
		d, err := time.ParseDuration(m[1])
		return ms(d), err
	}
	// Pin the lock once (a cold build then downloads exactly it).
	if _, _, err := run(filepath.Join(work, "lock-cache"), "lock", "-f", file); err != nil {
		return benchkit.Result{}, err
	}
	var rounds []round
	for i := 0; i < o.rounds; i++ {
		var r round
		cache := filepath.Join(work, fmt.Sprintf("cache-%d", i))
		ref := fmt.Sprintf("%s/bench/app:r%d", addr, i)
		say("round %d: cold build + push", i+1)
		took, stderr, err := run(cache, "build", "-f", file, "app", "--push", ref)
		if err != nil {
			return benchkit.Result{}, err
		}
		r.ColdTotal = ms(took)
		if r.ColdAttach, err = attachTime(stderr); err != nil {
			return benchkit.Result{}, err
		}
		say("round %d: no-op rebuild + push", i+1)
		took, stderr, err = run(cache, "build", "-f", file, "app", "--push", ref)
		if err != nil {
			return benchkit.Result{}, err
		}
		r.NoopTotal = ms(took)
		if r.NoopAttach, err = attachTime(stderr); err != nil {
			return benchkit.Result{}, err
		}
		layout := filepath.Join(work, fmt.Sprintf("layout-%d", i))
		if _, _, err := run(cache, "build", "-f", file, "app", "--oci-layout", layout); err != nil {
			return benchkit.Result{}, err
		}
		say("round %d: berth sbom vs syft", i+1)
		took, _, err = run(cache, "sbom", "oci-layout:"+layout+":app")
		if err != nil {
			return benchkit.Result{}, err
		}
		r.BerthSBOM = ms(took)
		if syft != "" {
			cmd := exec.CommandContext(ctx, syft, "scan", "oci-dir:"+layout, "-q", "-o", "spdx-json")
			cmd.Env = append(os.Environ(), "SYFT_CHECK_FOR_APP_UPDATE=false")
			var stderr strings.Builder
			cmd.Stdout, cmd.Stderr = io.Discard, &stderr
			start := time.Now()
			if err := cmd.Run(); err != nil {
				return benchkit.Result{}, fmt.Errorf("syft: %v\n%s", err, stderr.String())
			}
			r.SyftSBOM = ms(time.Since(start))
		}
		rounds = append(rounds, r)
	}
	return report(rounds, syft != ""), nil
}

func report(rounds []round, haveSyft bool) benchkit.Result {
	med := func(f func(round) float64) float64 {
		var vs []float64
		for _, r := range rounds {
			vs = append(vs, f(r))
		}
		return benchkit.Median(vs)
	}
	coldTotal, coldAttach := med(func(r round) float64 { return r.ColdTotal }), med(func(r round) float64 { return r.ColdAttach })
	noopTotal, noopAttach := med(func(r round) float64 { return r.NoopTotal }), med(func(r round) float64 { return r.NoopAttach })
	berthSBOM, syftSBOM := med(func(r round) float64 { return r.BerthSBOM }), med(func(r round) float64 { return r.SyftSBOM })
	overhead := coldAttach / (coldTotal - coldAttach) * 100
	pass := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "MISS"
	}
	var b strings.Builder
	h := benchkit.ReadHost()
	fmt.Fprintf(&b, "## SBOM and provenance (examples/goapp, %d rounds, median)\n\n", len(rounds))
	fmt.Fprintf(&b, "Host: %s\n\n", h)
	fmt.Fprintf(&b, "| step | berth build --push (total) | of which SBOMs + provenance | target | |\n|---|---:|---:|---|---|\n")
	fmt.Fprintf(&b, "| cold | %.0f ms | %.1f ms (%.2f%%) | ≤5%% | %s |\n", coldTotal, coldAttach, overhead, pass(overhead <= 5))
	fmt.Fprintf(&b, "| no-op rebuild | %.0f ms | %.1f ms | ≤20 ms | %s |\n\n", noopTotal, noopAttach, pass(noopAttach <= 20))
	fmt.Fprintf(&b, "| SBOM of the image (SPDX JSON) | time |\n|---|---:|\n| `berth sbom oci-layout:…` | %.0f ms |\n", berthSBOM)
	if haveSyft {
		fmt.Fprintf(&b, "| `syft scan oci-dir:… -o spdx-json` | %.0f ms (%.1f× berth) |\n", syftSBOM, syftSBOM/berthSBOM)
	} else {
		fmt.Fprintf(&b, "| syft | not installed |\n")
	}
	return benchkit.Result{Markdown: b.String(), Data: rounds, Missed: overhead > 5 || noopAttach > 20}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
