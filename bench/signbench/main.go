// Command signbench signs and verifies the same image with `berth sign` +
// `berth verify` and with `cosign sign` + `cosign verify`, same key (one
// berth generated), same registry (berth's, on loopback), in one run, and
// prints a Markdown table of median wall times with the ratio and the
// issue's target (berth ≥3× faster end to end).
//
//	go run ./bench/signbench                 # 5 rounds per tool and format
//	go run ./bench/signbench -rounds 9 -cosign bin/cosign
//
// Each round pushes a fresh random image (1 layer, 1 MiB) so no round finds
// the previous round's signatures; tools alternate. Both sides are offline:
// cosign runs with --tlog-upload=false / --insecure-ignore-tlog=true and an
// empty trusted root (no TUF), berth needs nothing else.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/bench/internal/benchkit"
	"github.com/berth-dev/berth/internal/sign"
)

const password = "bench"

func main() {
	rounds := flag.Int("rounds", 5, "rounds per tool and format (median reported)")
	cosign := flag.String("cosign", "", "cosign binary (default: bin/cosign of the module)")
	flag.Parse()
	if err := run(*rounds, *cosign); err != nil {
		fmt.Fprintln(os.Stderr, "signbench:", err)
		os.Exit(2)
	}
}

func run(rounds int, cosign string) error {
	ctx := context.Background()
	root, err := benchkit.ModuleRoot(ctx, "signbench")
	if err != nil {
		return err
	}
	if cosign == "" {
		cosign = filepath.Join(root, "bin", "cosign")
	}
	work, err := os.MkdirTemp("", "signbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	berth := filepath.Join(work, "berth")
	if err := benchkit.GoBuild(ctx, root, berth, "./cmd/berth"); err != nil {
		return err
	}
	host, stop, err := startRegistry(ctx, berth, work)
	if err != nil {
		return err
	}
	defer stop()

	env := append(os.Environ(), "BERTH_PASSWORD="+password, "COSIGN_PASSWORD="+password,
		"TUF_ROOT="+filepath.Join(work, "tuf"), "HOME="+work)
	prefix := filepath.Join(work, "k")
	if err := runCmd(env, berth, "key", "generate", "--output-key-prefix", prefix); err != nil {
		return err
	}
	trusted := filepath.Join(work, "trusted_root.json")
	if err := os.WriteFile(trusted, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644); err != nil {
		return err
	}
	reg := []string{"--allow-insecure-registry", "--allow-http-registry"}

	// berth's key agent, the key loaded once (timed apart): the third
	// contender signs with no password in its environment at all.
	agentSock := filepath.Join(work, "agent", "agent.sock")
	agentEnv := append(os.Environ(), "BERTH_KEY_AGENT="+agentSock, "HOME="+work)
	agent := exec.Command(berth, "key", "agent", "--socket", agentSock)
	if err := agent.Start(); err != nil {
		return err
	}
	defer func() { agent.Process.Kill(); agent.Wait() }()
	addStart := time.Now()
	if err := runCmd(append(agentEnv, "BERTH_PASSWORD="+password), berth, "key", "add", prefix+".key"); err != nil {
		return err
	}
	addTime := time.Since(addStart)

	type tool struct {
		name         string
		sign, verify func(ref, refAtDigest string, bundle bool) []string
		bin          string
		env          []string
	}
	berthSign := func(ref, _ string, bundle bool) []string {
		return []string{"sign", ref, "--key", prefix + ".key", "--format", map[bool]string{true: "bundle", false: "legacy"}[bundle]}
	}
	berthVerify := func(ref, _ string, _ bool) []string {
		return []string{"verify", ref, "--key", prefix + ".pub"}
	}
	tools := []tool{
		{"berth", berthSign, berthVerify, berth, env},
		{"berth-agent", berthSign, berthVerify, berth, agentEnv},
		{"cosign", func(_, refAtDigest string, bundle bool) []string {
			return append(append([]string{"sign", "--key", prefix + ".key", "--tlog-upload=false", "-y", fmt.Sprintf("--new-bundle-format=%v", bundle)}, reg...), refAtDigest)
		}, func(ref, _ string, bundle bool) []string {
			a := append([]string{"verify", "--key", prefix + ".pub", "--insecure-ignore-tlog=true", fmt.Sprintf("--new-bundle-format=%v", bundle)}, reg...)
			if bundle {
				a = append(a, "--trusted-root", trusted)
			}
			return append(a, ref)
		}, cosign, env},
	}

	type key struct{ tool, format, step string }
	times := map[key][]time.Duration{}
	n := 0
	for r := 0; r < rounds; r++ {
		for _, bundle := range []bool{false, true} {
			format := map[bool]string{true: "bundle", false: "legacy"}[bundle]
			order := tools
			if r%2 == 1 {
				order = []tool{tools[2], tools[1], tools[0]}
			}
			for _, t := range order {
				n++
				ref := fmt.Sprintf("%s/bench/app:%d", host, n)
				dig, err := pushRandom(ref)
				if err != nil {
					return err
				}
				at := fmt.Sprintf("%s/bench/app@%s", host, dig)
				for _, step := range []string{"sign", "verify"} {
					args := t.sign(ref, at, bundle)
					if step == "verify" {
						args = t.verify(ref, at, bundle)
					}
					start := time.Now()
					if err := runCmd(t.env, t.bin, args...); err != nil {
						return err
					}
					times[key{t.name, format, step}] = append(times[key{t.name, format, step}], time.Since(start))
				}
			}
		}
	}

	// The key's scrypt (N=2^16, r=8, p=1), which both tools run once per
	// sign: measured in-process, it is the floor of either sign.
	var kdf []time.Duration
	for i := 0; i < rounds; i++ {
		start := time.Now()
		if _, err := sign.LoadPrivateKey(prefix+".key", []byte(password)); err != nil {
			return err
		}
		kdf = append(kdf, time.Since(start))
	}
	k := median(kdf)

	h := benchkit.ReadHost()
	fmt.Printf("### Run (%s)\n\n- Host: %s\n- cosign: %s\n- %d rounds, median; fresh random image (1 MiB) per round; berth registry on %s\n\n",
		h.Date, h, cosignVersion(cosign), rounds, host)
	fmt.Printf("Decrypting the key (scrypt, both tools, once per sign): %s median. berth with its key agent: the key loaded once by `berth key add` (%s, not counted), then every sign runs with no password in its environment.\n\n", ms(k), ms(addTime))
	fmt.Println("| format | step | cosign | berth | berth, key agent | cosign ÷ berth | cosign ÷ berth (agent) |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|")
	for _, format := range []string{"legacy", "bundle"} {
		var ct, bt, at time.Duration
		for _, step := range []string{"sign", "verify"} {
			c, b, a := median(times[key{"cosign", format, step}]), median(times[key{"berth", format, step}]), median(times[key{"berth-agent", format, step}])
			ct, bt, at = ct+c, bt+b, at+a
			fmt.Printf("| %s | %s | %s | %s | %s | %.1f× | %.1f× |\n", format, step, ms(c), ms(b), ms(a), float64(c)/float64(b), float64(c)/float64(a))
		}
		verdict := func(r float64) string {
			if r >= 3 {
				return "≥3×"
			}
			return "<3×"
		}
		rb, ra := float64(ct)/float64(bt), float64(ct)/float64(at)
		fmt.Printf("| %s | **sign + verify** | %s | %s | %s | **%.1f×** (%s) | **%.1f×** (%s) |\n", format, ms(ct), ms(bt), ms(at), rb, verdict(rb), ra, verdict(ra))
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func runCmd(env []string, bin string, args ...string) error {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %v\n%s", bin, args, err, out)
	}
	return nil
}

func pushRandom(ref string) (string, error) {
	img, err := random.Image(1<<20, 1)
	if err != nil {
		return "", err
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(r, img); err != nil {
		return "", err
	}
	d, err := img.Digest()
	return d.String(), err
}

func startRegistry(ctx context.Context, berth, work string) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	host := l.Addr().String()
	l.Close()
	cmd := exec.Command(berth, "registry", "serve", "--addr", host, "--root", filepath.Join(work, "registry"))
	c, err := benchkit.StartChild("berth registry", filepath.Join(work, "registry.log"), cmd)
	if err != nil {
		return "", nil, err
	}
	err = c.WaitReady(ctx, 20*time.Second, func() error {
		resp, err := http.Get("http://" + host + "/v2/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	if err != nil {
		c.Stop(5 * time.Second)
		return "", nil, err
	}
	return host, func() { c.Stop(5 * time.Second) }, nil
}

// cosignVersion is the GitVersion line of `cosign version` (its banner
// comes first).
func cosignVersion(bin string) string {
	out, _ := exec.Command(bin, "version").CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "GitVersion:"); ok {
			return bin + " " + strings.TrimSpace(v)
		}
	}
	return bin
}
