package internal_test

// The import-direction test: berth's architecture written down as the
// packages of this module each package may depend on (directly or not),
// checked against `go list -deps`. Data flows build → registry → engine →
// deploy; each stage is a tree under internal/ that knows nothing of the
// stages after it, and cmd/berth only wires them together. A failure here
// means a new dependency crosses a boundary: move the code (or the type it
// needs) instead of widening a list, or, if the architecture really
// changed, change the list and docs/architecture.md together.
//
// In the spirit of go-containerregistry's pkg/registry/depcheck_test.go.

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/berth-dev/berth/"

// shared are leaf packages any package may use: no berth dependencies,
// no concept of their own beyond the one they implement.
var shared = []string{
	"internal/atomicfile", // temp file + fsync + rename
	"internal/signals",    // the one signal-name table
	"internal/progress",   // how blobs move: push, pull, promote progress
	"internal/acmecheck",  // the ACME settings' checks: the proxy's and berth.yaml's acme:
}

// allowed maps a package pattern ("x" is the package x, "x/..." x and every
// package below it; the longest matching pattern wins) to the patterns of
// the module's packages it may depend on, besides itself, its own subtree
// and shared. Every package under internal/ must match a pattern.
var allowed = map[string][]string{
	// Pure leaves.
	"internal/atomicfile": {},
	"internal/signals":    {},
	"internal/blobstore":  {}, // content-addressed files, shared by registry and store
	"internal/deb":        {},
	"internal/imageref":   {},
	"internal/inspect":    {}, // read-only: inspect, diff
	"internal/errtext":    {}, // how errors read to a user
	"internal/logging":    {}, // the services' slog setup
	"internal/termio":     {}, // raw terminals for exec
	"internal/buildinfo":  {}, // which berth this is: version, commit
	"internal/progress":   {}, // how blobs move (shared: push, pull, promote)
	"internal/acmecheck":  {}, // ACME directory, email, challenge, roots, host checks (shared)
	"internal/model/...":  {}, // what runs: the specs the engine side shares (modeltest: shared test values)
	// An environment's admission policy and its gate over ports
	// (signature verifier, evidence finder, scanner, signer) the trust
	// packages implement; nothing of berth.
	"internal/policy": {},

	// Offline vulnerability scanning: OSV records in bbolt, matched by purl;
	// Debian version ordering from internal/deb (never a second one).
	"internal/vuln": {"internal/deb"},

	// berth.yaml. goflags is the allowlist of go flags berth.yaml may
	// pass; spec validates with it, build applies it.
	"internal/build/goflags": {},
	"internal/spec":          {"internal/build/goflags"},

	// Build: berth.yaml → images. Nothing of the registry server, the
	// engine, the proxy or deploy: images leave through imageref.
	"internal/build/...": {"internal/spec", "internal/build/goflags", "internal/deb", "internal/imageref"},
	// What is inside an image (SBOMs, provenance): reads images, knows
	// Debian's status data; nothing of build, the registry or the engine.
	"internal/sbom": {"internal/deb"},
	// Rebase writes a new image from existing ones.
	"internal/rebase": {"internal/imageref"},

	// Registry: the OCI distribution server over its stores. Nothing of
	// build, the engine, the proxy or deploy.
	"internal/registry/...": {"internal/blobstore", "internal/console", "internal/inspect"}, // console: its web console's pages

	// Engine side. The image store pulls through imageref (a client), never
	// from the registry's packages.
	"internal/store": {"internal/blobstore", "internal/imageref"},
	// Compose files and berth.yaml services → a Stack.
	"internal/stack": {"internal/spec", "internal/build/goflags", "internal/registry/names", "internal/model", "internal/policy"},
	// Stack → what the engine runs.
	"internal/stack/enginespec": {"internal/model", "internal/stack", "internal/spec", "internal/build/goflags", "internal/registry/names",
		"internal/engine/...", "internal/proxy", "internal/policy"},
	// Stack → Kubernetes objects (the model, as the engine gets it; the
	// stack's environment targets): never the engine, the deployer or the
	// registry server.
	"internal/kube": {"internal/model", "internal/stack", "internal/stack/enginespec", "internal/spec", "internal/build/goflags",
		"internal/registry/names", "internal/policy", "internal/signals"},
	// The stack commands' backend on a cluster: kube underneath, deploy's
	// and the engine's types (reports, history, containers, log entries)
	// on top, so the commands print a cluster's rollout as the daemon's.
	"internal/kube/remote": {"internal/kube", "internal/deploy", "internal/client", "internal/engine/...", "internal/proxy",
		"internal/model", "internal/stack", "internal/stack/enginespec", "internal/spec", "internal/build/goflags",
		"internal/registry/names", "internal/policy", "internal/signals"},
	// Copy an image between the environments of a berth.yaml.
	"internal/promote": {"internal/stack", "internal/spec", "internal/build/goflags", "internal/registry/names", "internal/model", "internal/policy"},
	// Signatures and attestations (cosign-compatible) on registry images:
	// a client of registries through imageref, nothing of build, the
	// registry server, the engine or deploy.
	"internal/sign": {"internal/imageref", "internal/keyagent"},
	// The key agent holds decrypted keys; it knows no key file format and
	// imports nothing of berth.
	"internal/keyagent": {},
	// The trust adapters: the policy gate's ports (signature verifier,
	// signer, scanner) and the registry's SignatureChecker (which gets a
	// read port from the registry; nothing of the registry's packages)
	// over the signing, SBOM and scanning packages.
	"internal/trust": {"internal/sign", "internal/keyagent", "internal/vuln", "internal/sbom", "internal/policy", "internal/imageref", "internal/deb"},
	// The release pipeline: build → push → pin by digest → what the engine
	// runs. The one place build and the engine side meet (besides cmd).
	"internal/release": {"internal/model", "internal/build/...", "internal/spec", "internal/deb", "internal/imageref", "internal/sbom",
		"internal/stack/...", "internal/registry/names", "internal/engine/...", "internal/proxy", "internal/policy"},
	// Orchestration: nothing of build, deploy, the registry or the store
	// (images reach it through a port the daemon adapts). It pushes the
	// desired routing in the proxy's config types.
	"internal/engine/...": {"internal/model", "internal/proxy"},
	// Rollouts over the engine.
	"internal/deploy": {"internal/model", "internal/engine/...", "internal/proxy"},

	// The proxy imports nothing of berth (it runs as its own process and
	// outlives the daemon) ...
	"internal/proxy": {},
	// ... and its process (proxyd) also serves the stack networks' DNS.
	"internal/proxy/...": {"internal/proxy", "internal/dns"},
	// The stack networks' DNS server: a leaf the proxy process runs.
	"internal/dns/...": {},

	// The flag values cmd/berth's commands share (compose-style timeouts
	// parse as the stack file's do; --platform as imageref's) and the
	// command tree's help, completion and unknown-subcommand errors
	// (errtext: how errors read to a user).
	"internal/cliflag": {"internal/stack", "internal/spec", "internal/build/goflags", "internal/registry/names", "internal/model", "internal/policy",
		"internal/imageref", "internal/errtext"},

	// The daemon's typed client: the engine's and deploy's API, paths from
	// the one route table.
	"internal/client": {"internal/model", "internal/engine/...", "internal/deploy", "internal/proxy"},

	// The web console: pages over ports the daemon adapts; of berth only
	// inspect's report type (console/chromium: the browser its tests drive).
	"internal/console/...": {"internal/inspect"},

	// The composition root of `berth daemon`: the engine side, adapted.
	"internal/daemon": {
		"internal/engine/...", "internal/proxy/...", "internal/dns", "internal/deploy", "internal/model",
		"internal/store", "internal/blobstore", "internal/imageref", "internal/console", "internal/inspect",
	},
}

// match reports whether pkg (module-relative) matches pattern.
func match(pattern, pkg string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

// rule returns the longest pattern of allowed matching pkg.
func rule(pkg string) (string, bool) {
	best := ""
	for p := range allowed {
		if match(p, pkg) && len(p) > len(best) {
			best = p
		}
	}
	return best, best != ""
}

// moduleDeps lists every package of the module with the module's packages
// it depends on (transitively, without tests), module-relative.
func moduleDeps(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	deps := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		pkg := strings.TrimPrefix(fields[0], module)
		deps[pkg] = nil
		for _, d := range fields[1:] {
			if rel, ok := strings.CutPrefix(d, module); ok {
				deps[pkg] = append(deps[pkg], rel)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(deps) == 0 {
		t.Fatal("go list found no packages")
	}
	return deps
}

func TestImportDirections(t *testing.T) {
	deps := moduleDeps(t)
	var pkgs []string
	for p := range deps {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		if !strings.HasPrefix(pkg, "internal/") {
			continue // cmd/, test/, bench/: wiring and tests may use anything
		}
		r, ok := rule(pkg)
		if !ok {
			t.Errorf("%s has no entry in allowed: decide which of berth's packages it may depend on", pkg)
			continue
		}
		for _, d := range deps[pkg] {
			if ok, why := permitted(pkg, r, d); !ok {
				t.Errorf("%s depends on %s: %s", pkg, d, why)
			}
		}
	}
}

// permitted reports whether pkg, under rule r, may depend on d.
func permitted(pkg, r, d string) (bool, string) {
	if !strings.HasPrefix(d, "internal/") {
		return false, "nothing under internal/ may depend on cmd/, test/ or bench/ (cmd only wires)"
	}
	if strings.HasPrefix(d, pkg+"/") {
		return true, ""
	}
	for _, s := range shared {
		if d == s {
			return true, ""
		}
	}
	// A subtree rule covers dependencies inside that subtree.
	if strings.HasSuffix(r, "/...") && match(r, d) {
		return true, ""
	}
	for _, a := range allowed[r] {
		if match(a, d) {
			return true, ""
		}
	}
	return false, fmt.Sprintf("not in allowed[%q] (the architecture: docs/architecture.md)", r)
}

// The rules themselves catch what they are meant to: a sample of
// dependencies the architecture forbids.
func TestImportDirectionsRules(t *testing.T) {
	for _, c := range []struct {
		pkg, dep string
		ok       bool
	}{
		{"internal/registry", "internal/build", false},
		{"internal/registry/gc", "internal/engine", false},
		{"internal/registry", "internal/blobstore", true},
		{"internal/build", "internal/engine", false},
		{"internal/build", "internal/deploy", false},
		{"internal/build", "internal/registry", false},
		{"internal/build", "internal/inspect", false},
		{"internal/build/source", "internal/build/layer", true},
		{"internal/engine", "internal/deploy", false},
		{"internal/engine", "internal/build", false},
		{"internal/engine", "internal/store", false},
		{"internal/engine/runtime", "internal/engine/network", true},
		{"internal/deploy", "internal/engine/api", true},
		{"internal/deploy", "internal/build", false},
		{"internal/proxy", "internal/engine", false},
		{"internal/proxy", "internal/proxy/proxyd", true},
		{"internal/proxy/proxyd", "internal/dns", true},
		{"internal/proxy/proxyd", "internal/engine/network", false},
		{"internal/proxy/proxyd", "internal/engine", false},
		{"internal/inspect", "internal/imageref", false},
		{"internal/store", "internal/registry/metadata", false},
		{"internal/daemon", "internal/build", false},
		{"internal/stack", "cmd/berth", false},
	} {
		r, ok := rule(c.pkg)
		if !ok {
			t.Errorf("%s: no rule", c.pkg)
			continue
		}
		if got, why := permitted(c.pkg, r, c.dep); got != c.ok {
			t.Errorf("%s → %s: permitted = %v (%s), want %v", c.pkg, c.dep, got, why, c.ok)
		}
	}
}
