package e2e

// cosign interop: the real cosign CLI (scripts/deps.sh installs v2 as
// bin/cosign and, when it builds, v3 as bin/cosign3) and berth sign and
// verify each other's signatures, keys and attestations, offline, against
// berth's own registry — or, with BERTH_E2E_REGISTRY=distribution, against
// CNCF distribution 2.8, which has no referrers API, so bundles go through
// the sha256-<hex> tag-schema fallback in both tools.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/internal/sign"
)

const trustPassword = "berth-e2e"

// trustEnv is cosign's and berth's environment: the key password, and a
// private TUF cache so nothing reads or writes the developer's ~/.sigstore.
type trustEnv struct {
	reg         *Registry
	dir         string
	env         []string
	trustedRoot string // an empty trusted root: new-bundle verification without TUF
	berthKey    string // PREFIX of the pair berth generated
	cosignKey   string // PREFIX of the pair cosign generated
	cosigns     []string
}

var (
	trustBerthOnce sync.Once
	trustBerthErr  error
)

func newTrustEnv(t *testing.T) *trustEnv {
	t.Helper()
	requireTools(t, "cosign")
	// Against distribution (no referrers API: the tag-schema fallback) the
	// suite has not built berth; the trust tests need its CLI anyway.
	trustBerthOnce.Do(func() {
		if suite.berthBin == "" && suite.buildErr == nil {
			suite.berthBin, trustBerthErr = buildBerth(suite.repoRoot, suite.workDir)
		}
	})
	if trustBerthErr != nil {
		t.Fatal(trustBerthErr)
	}
	e := &trustEnv{reg: startRegistry(t), dir: t.TempDir()}
	e.env = []string{"COSIGN_PASSWORD=" + trustPassword, "TUF_ROOT=" + filepath.Join(e.dir, "tuf"), "HOME=" + e.dir}
	e.trustedRoot = filepath.Join(e.dir, "trusted_root.json")
	if err := os.WriteFile(e.trustedRoot, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e.cosigns = cosignBinaries(t)
	e.berthKey = filepath.Join(e.dir, "berth")
	e.cosignKey = filepath.Join(e.dir, "cos")
	mustRunEnv(t, []string{"BERTH_PASSWORD=" + trustPassword}, suite.berthBin, "key", "generate", "--output-key-prefix", e.berthKey)
	mustRunEnv(t, e.env, "cosign", "generate-key-pair", "--output-key-prefix", e.cosignKey)
	return e
}

// pushRandom pushes a small random image to host/repo:tag and returns
// "host/repo:tag" and its digest.
func (e *trustEnv) pushRandom(t *testing.T, repoTag string) (string, string) {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := e.reg.Host + "/" + repoTag
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return ref, d.String()
}

var cosignRegistryFlags = []string{"--allow-insecure-registry", "--allow-http-registry"}

func (e *trustEnv) cosignSign(t *testing.T, bin, keyPrefix, refAtDigest string, bundle bool) {
	t.Helper()
	args := append([]string{"sign", "--key", keyPrefix + ".key", "--tlog-upload=false", "-y"}, cosignRegistryFlags...)
	if bin == "cosign3" {
		args = append(args, "--use-signing-config=false")
	}
	args = append(args, "--new-bundle-format="+boolString(bundle), refAtDigest)
	mustRunEnv(t, e.env, bin, args...)
}

func (e *trustEnv) cosignVerifyArgs(bin, keyPrefix, ref string, bundle bool) []string {
	// The empty trusted root keeps cosign from fetching one over TUF
	// (offline), and cosign requires one for bundles even with a key.
	args := append([]string{"verify", "--key", keyPrefix + ".pub", "--insecure-ignore-tlog=true", "--trusted-root", e.trustedRoot}, cosignRegistryFlags...)
	return append(args, "--new-bundle-format="+boolString(bundle), ref)
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func cosignBinaries(t *testing.T) []string {
	bins := []string{"cosign"}
	if _, err := os.Stat(filepath.Join(suite.repoRoot, "bin", "cosign3")); err == nil {
		bins = append(bins, "cosign3")
	} else {
		t.Logf("bin/cosign3 not installed: cosign v3 cases skipped")
	}
	return bins
}

// cosign signs (with a key berth generated) → berth verify passes; the
// other key, a replaced manifest and a signature copied to another digest
// fail.
func TestCosignSignedBerthVerifies(t *testing.T) {
	e := newTrustEnv(t)
	for _, bin := range e.cosigns {
		for _, bundle := range []bool{false, true} {
			name := bin + "-bundle=" + boolString(bundle)
			t.Run(name, func(t *testing.T) {
				ref, dig := e.pushRandom(t, "cosigned:"+strings.ReplaceAll(name, "=", "-"))
				e.cosignSign(t, bin, e.berthKey, repoOf(ref)+"@"+dig, bundle)
				out := mustRun(t, suite.berthBin, "verify", ref, "--key", e.berthKey+".pub", "--json")
				if !strings.Contains(out, `"offline": true`) || !strings.Contains(out, dig) {
					t.Fatalf("berth verify output:\n%s", out)
				}
				r := mustFailEnv(t, nil, suite.berthBin, "verify", ref, "--key", e.cosignKey+".pub")
				if !strings.Contains(r.Stderr, "signature does not match") {
					t.Fatalf("wrong key: %s", r.Stderr)
				}
				// The tag moves to another manifest: its signature is gone.
				_, other := e.pushRandom(t, "cosigned:"+strings.ReplaceAll(name, "=", "-"))
				r = mustFailEnv(t, nil, suite.berthBin, "verify", ref, "--key", e.berthKey+".pub")
				if !strings.Contains(r.Stderr, other) {
					t.Fatalf("replaced manifest: %s", r.Stderr)
				}
			})
		}
	}
}

// berth signs (with a key cosign generated) → cosign verify passes; the
// wrong key and a replaced manifest fail in cosign too.
func TestBerthSignedCosignVerifies(t *testing.T) {
	e := newTrustEnv(t)
	for _, format := range []string{"legacy", "bundle"} {
		t.Run(format, func(t *testing.T) {
			ref, dig := e.pushRandom(t, "berthsigned:"+format)
			out := mustRunEnv(t, []string{"BERTH_PASSWORD=" + trustPassword}, suite.berthBin,
				"sign", ref, "--key", e.cosignKey+".key", "--format", format, "-a", "env=prod")
			if !strings.Contains(out, dig) {
				t.Fatalf("berth sign: %s", out)
			}
			bundle := format == "bundle"
			if bundle && suite.kind == kindDistribution {
				// No referrers API: the bundle is listed in the fallback index.
				requireTools(t, "crane")
				idx := mustRun(t, "crane", "manifest", "--insecure", repoOf(ref)+":"+strings.Replace(dig, ":", "-", 1))
				if !strings.Contains(idx, sign.BundleMediaType) {
					t.Fatalf("fallback tag index:\n%s", idx)
				}
			}
			for _, bin := range e.cosigns {
				mustRunEnv(t, e.env, bin, e.cosignVerifyArgs(bin, e.cosignKey, ref, bundle)...)
				mustFailEnv(t, e.env, bin, e.cosignVerifyArgs(bin, e.berthKey, ref, bundle)...)
			}
			// cosign checks -a against the payload's optional (legacy) or,
			// v3 only, the statement subject's annotations (bundle).
			for _, bin := range e.cosigns {
				if bundle && bin == "cosign" {
					continue // v2.6 does not check annotations of bundles
				}
				args := e.cosignVerifyArgs(bin, e.cosignKey, ref, bundle)
				args = append(args[:len(args)-1], "-a", "env=prod", ref)
				mustRunEnv(t, e.env, bin, args...)
				args[len(args)-2] = "env=dev"
				mustFailEnv(t, e.env, bin, args...)
			}
			_, _ = e.pushRandom(t, "berthsigned:"+format)
			for _, bin := range e.cosigns {
				mustFailEnv(t, e.env, bin, e.cosignVerifyArgs(bin, e.cosignKey, ref, bundle)...)
			}
		})
	}
}

// A legacy .sig of image A copied to image B's .sig tag: both tools refuse
// it for B (the payload claims A's digest).
func TestSignatureOfAnotherDigestRefusedByBoth(t *testing.T) {
	e := newTrustEnv(t)
	requireTools(t, "crane")
	a, da := e.pushRandom(t, "copied:a")
	b, db := e.pushRandom(t, "copied:b")
	mustRunEnv(t, []string{"BERTH_PASSWORD=" + trustPassword}, suite.berthBin, "sign", a, "--key", e.berthKey+".key", "--format", "legacy")
	sigTag := func(d string) string { return repoOf(a) + ":" + strings.Replace(d, ":", "-", 1) + ".sig" }
	mustRun(t, "crane", "copy", "--insecure", sigTag(da), sigTag(db))
	r := mustFailEnv(t, nil, suite.berthBin, "verify", b, "--key", e.berthKey+".pub")
	if !strings.Contains(r.Stderr, "claims "+da) {
		t.Fatalf("berth verify: %s", r.Stderr)
	}
	mustFailEnv(t, e.env, "cosign", e.cosignVerifyArgs("cosign", e.berthKey, b, false)...)
	mustRun(t, suite.berthBin, "verify", a, "--key", e.berthKey+".pub")
}

// berth's attestations (sign.Attest) pass cosign verify-attestation for
// spdxjson, cyclonedx and slsaprovenance1 in both of cosign's layouts: one
// image with bundle referrers, one with only the legacy .att tag (cosign
// v2.6 reads only the bundles of an image that has any).
func TestBerthAttestationsCosignVerifies(t *testing.T) {
	e := newTrustEnv(t)
	k, err := sign.LoadPrivateKey(e.cosignKey+".key", []byte(trustPassword))
	if err != nil {
		t.Fatal(err)
	}
	preds := map[string]struct{ uri, doc string }{
		"spdxjson":        {sign.PredicateSPDX, `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"attested","documentNamespace":"https://berth.dev/spdx/attested-1","creationInfo":{"created":"2026-01-01T00:00:00Z","creators":["Tool: berth"]},"packages":[]}`},
		"cyclonedx":       {sign.PredicateCycloneDX, `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[]}`},
		"slsaprovenance1": {sign.PredicateSLSA1, `{"buildDefinition":{"buildType":"https://berth.dev/build/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://berth.dev/berth"}}}`},
	}
	for _, format := range []sign.Format{sign.FormatBundle, sign.FormatLegacy} {
		t.Run(string(format), func(t *testing.T) {
			ref, _ := e.pushRandom(t, "attested:"+string(format))
			for typ, p := range preds {
				if _, err := sign.Attest(context.Background(), ref, p.uri, []byte(p.doc), k, sign.AttestOptions{Formats: []sign.Format{format}}); err != nil {
					t.Fatalf("%s: %v", typ, err)
				}
			}
			for typ := range preds {
				args := func(key string) []string {
					a := append([]string{"verify-attestation", "--key", key, "--insecure-ignore-tlog=true", "--type", typ, "--trusted-root", e.trustedRoot}, cosignRegistryFlags...)
					return append(a, "--new-bundle-format="+boolString(format == sign.FormatBundle), ref)
				}
				mustRunEnv(t, e.env, "cosign", args(e.cosignKey+".pub")...)
				mustFailEnv(t, e.env, "cosign", args(e.berthKey+".pub")...)
				// berth reads them back too.
				out := mustRun(t, suite.berthBin, "verify", ref, "--key", e.cosignKey+".pub", "--attestations", "--type", typ)
				if strings.Count(out, "verified attestation") != 1 {
					t.Fatalf("berth verify --attestations --type %s:\n%s", typ, out)
				}
			}
		})
	}
}

// TestBuildPushKeyCosignVerifies: `berth build --push --key` signs the
// pushed image and its SBOM and provenance attestations (the pipeline's
// one attestation path, sign.Attest): cosign verify and cosign
// verify-attestation accept them with the key's .pub, not with another
// key; berth verify --attestations finds each type in both layouts
// (bundle referrer and legacy .att).
func TestBuildPushKeyCosignVerifies(t *testing.T) {
	e := newTrustEnv(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "berth.yaml")
	if err := os.WriteFile(file, []byte("images:\n  app:\n    layers:\n      - name: etc\n        paths: [{path: /etc/app, type: directory}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := e.reg.Host + "/signed/app:1"
	mustRunEnv(t, append(e.env, "BERTH_CACHE="+filepath.Join(dir, "cache")), suite.berthBin, "build", "-f", file, "app", "--push", ref, "--key", e.cosignKey+".key")
	for _, bin := range e.cosigns {
		mustRunEnv(t, e.env, bin, e.cosignVerifyArgs(bin, e.cosignKey, ref, true)...)
		mustFailEnv(t, e.env, bin, e.cosignVerifyArgs(bin, e.berthKey, ref, true)...)
		for _, typ := range []string{"spdxjson", "slsaprovenance1"} {
			args := func(key string) []string {
				a := append([]string{"verify-attestation", "--key", key, "--insecure-ignore-tlog=true", "--type", typ, "--trusted-root", e.trustedRoot}, cosignRegistryFlags...)
				return append(a, "--new-bundle-format=true", ref)
			}
			mustRunEnv(t, e.env, bin, args(e.cosignKey+".pub")...)
			mustFailEnv(t, e.env, bin, args(e.berthKey+".pub")...)
		}
	}
	for _, typ := range []string{"spdxjson", "cyclonedx", "slsaprovenance1"} {
		out := mustRun(t, suite.berthBin, "verify", ref, "--key", e.cosignKey+".pub", "--attestations", "--type", typ)
		if strings.Count(out, "verified attestation") != 2 || !strings.Contains(out, "bundle") || !strings.Contains(out, "legacy") {
			t.Fatalf("berth verify --attestations --type %s:\n%s", typ, out)
		}
	}
}

// A cosign key loaded into berth's key agent once signs without a password
// in the signing process's environment, and cosign verifies the result.
func TestKeyAgentSignedCosignVerifies(t *testing.T) {
	e := newTrustEnv(t)
	sock := filepath.Join(t.TempDir(), "agent", "agent.sock")
	agent := exec.Command(suite.berthBin, "key", "agent", "--socket", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	env := []string{"BERTH_KEY_AGENT=" + sock}
	mustRunEnv(t, append(env, "BERTH_PASSWORD="+trustPassword), suite.berthBin, "key", "add", e.cosignKey+".key", "--ttl", "10m")
	for _, format := range []string{"legacy", "bundle"} {
		ref, dig := e.pushRandom(t, "agentsigned:"+format)
		// No password anywhere: only the agent can make this signature.
		out := mustRunEnv(t, append(env, "BERTH_PASSWORD=", "COSIGN_PASSWORD="), suite.berthBin, "sign", ref, "--key", e.cosignKey+".key", "--format", format)
		if !strings.Contains(out, dig) {
			t.Fatalf("berth sign through the agent: %s", out)
		}
		for _, bin := range e.cosigns {
			mustRunEnv(t, e.env, bin, e.cosignVerifyArgs(bin, e.cosignKey, ref, format == "bundle")...)
		}
	}
}
