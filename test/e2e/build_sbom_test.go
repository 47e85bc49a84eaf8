package e2e

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestSBOMRecall builds examples/goapp and examples/nginx, pushes them
// (which attaches SPDX, CycloneDX and provenance attestations) and checks
// the attached SBOMs against the tools of record: every package dpkg-query
// lists from the image's status data and every module `go version -m`
// lists from the Go binary is in the SBOM, and nothing else is. syft, when
// bin/ has it, is run on the same image and the purls compared (the
// differences are explained in docs/sbom.md).
func TestSBOMRecall(t *testing.T) {
	requireTools(t, "dpkg-query", "go")
	env := newBuildEnv(t, false)
	reg := startRegistry(t)
	for _, c := range []struct{ example, image, goBinary string }{
		{"goapp", "app", "app/goapp"},
		{"nginx", "nginx", ""},
	} {
		t.Run(c.example, func(t *testing.T) {
			dir := copyExample(t, c.example)
			layout := filepath.Join(t.TempDir(), "layout")
			env.build1(t, dir, c.image, "--oci-layout", layout)
			ref := reg.Host + "/sbom/" + c.image + ":1"
			pushed := runEnv(t, env.env(), suite.berthBin, "build", "-f", filepath.Join(dir, "berth.yaml"), c.image, "--push", ref)
			if pushed.Err != nil || !strings.Contains(pushed.Stderr, "attached 3 attestations") {
				t.Fatalf("berth build --push: %v\n%s", pushed.Err, pushed.Stderr)
			}

			// What berth attached, read back through the referrers API.
			var insp struct {
				Referrers []struct{ ArtifactType, Digest, PredicateType string }
			}
			mustJSON(t, env.berth(t, "inspect", ref, "--json"), &insp)
			var types []string
			for _, r := range insp.Referrers {
				types = append(types, r.PredicateType)
			}
			sort.Strings(types)
			if want := []string{"https://cyclonedx.org/bom", "https://slsa.dev/provenance/v1", "https://spdx.dev/Document"}; !slices.Equal(types, want) {
				t.Fatalf("referrers' predicate types %v, want %v", types, want)
			}
			spdxOut := runEnv(t, env.env(), suite.berthBin, "sbom", ref)
			if spdxOut.Err != nil || strings.Contains(spdxOut.Stderr, "generated") {
				t.Fatalf("berth sbom: %v; stderr %q (want the attached document)", spdxOut.Err, spdxOut.Stderr)
			}
			var spdx struct {
				Packages []struct {
					Name, VersionInfo string
					ExternalRefs      []struct{ ReferenceType, ReferenceLocator string }
				}
			}
			mustJSON(t, spdxOut.Stdout, &spdx)
			var cdx struct {
				Components []struct{ Type, Name, Version, Purl string }
			}
			mustJSON(t, env.berth(t, "sbom", ref, "--format", "cyclonedx"), &cdx)
			var prov struct {
				BuildDefinition struct {
					ResolvedDependencies []struct {
						URI    string
						Digest map[string]string
					}
				}
			}
			mustJSON(t, env.berth(t, "sbom", ref, "--provenance"), &prov)

			debs, golang, purls := map[string]bool{}, map[string]bool{}, map[string]bool{}
			for _, p := range spdx.Packages {
				for _, r := range p.ExternalRefs {
					if r.ReferenceType != "purl" {
						continue
					}
					if strings.HasPrefix(r.ReferenceLocator, "pkg:oci/") {
						continue // the image itself: CycloneDX's metadata component
					}
					purls[r.ReferenceLocator] = true
					switch {
					case strings.HasPrefix(r.ReferenceLocator, "pkg:deb/debian/"):
						debs[p.Name+" "+p.VersionInfo+" "+qualifier(r.ReferenceLocator, "arch")] = true
					case strings.HasPrefix(r.ReferenceLocator, "pkg:golang/"):
						golang[p.Name+"@"+p.VersionInfo] = true
					}
				}
			}
			cdxPurls := map[string]bool{}
			for _, comp := range cdx.Components {
				if comp.Purl != "" {
					cdxPurls[comp.Purl] = true
				}
			}
			if !mapsEqualBool(cdxPurls, purls) {
				t.Errorf("CycloneDX and SPDX list different packages:\n%s", setDiff(cdxPurls, purls))
			}

			// Ground truth: dpkg-query over the image's status data, go version -m over the binary.
			_, m := layoutManifest(t, layout, c.image)
			var status []byte
			var binary []byte
			for _, l := range m.Layers {
				for p, e := range layoutLayerEntries(t, layout, l.Digest.String()) {
					if strings.HasPrefix(p, "var/lib/dpkg/status.d/") && !strings.HasSuffix(p, ".md5sums") && e.Type == '0' {
						status = append(append(status, e.Content...), '\n')
					}
					if p == c.goBinary {
						binary = e.Content
					}
				}
			}
			admin := t.TempDir()
			if err := os.WriteFile(filepath.Join(admin, "status"), status, 0o644); err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Join(admin, "info"), 0o755)
			os.MkdirAll(filepath.Join(admin, "updates"), 0o755)
			wantDebs := map[string]bool{}
			for _, line := range strings.Split(strings.TrimSpace(mustRun(t, "dpkg-query", "--admindir="+admin, "-W", "-f=${Package} ${Version} ${Architecture}\n")), "\n") {
				wantDebs[line] = true
			}
			if len(wantDebs) < 5 || !mapsEqualBool(debs, wantDebs) {
				t.Errorf("Debian packages: SBOM vs dpkg-query (%d vs %d):\n%s", len(debs), len(wantDebs), setDiff(debs, wantDebs))
			}
			wantGo := map[string]bool{}
			if c.goBinary != "" {
				bin := filepath.Join(t.TempDir(), "bin")
				if err := os.WriteFile(bin, binary, 0o755); err != nil {
					t.Fatal(err)
				}
				wantGo = goVersionM(t, bin)
			}
			if !mapsEqualBool(golang, wantGo) {
				t.Errorf("Go modules: SBOM vs go version -m:\n%s", setDiff(golang, wantGo))
			}

			// The provenance names every locked .deb by its SHA256.
			var lock struct {
				Layers []struct {
					Image    string
					Variant  string
					Packages []struct{ Name, SHA256 string }
				}
			}
			raw, err := os.ReadFile(filepath.Join(dir, "berth.lock"))
			if err != nil {
				t.Fatal(err)
			}
			mustJSON(t, string(raw), &lock)
			inProv := map[string]bool{}
			for _, d := range prov.BuildDefinition.ResolvedDependencies {
				inProv[d.Digest["sha256"]] = true
			}
			for _, l := range lock.Layers {
				if l.Variant != "" {
					continue
				}
				for _, p := range l.Packages {
					if !inProv[p.SHA256] {
						t.Errorf("provenance lacks locked package %s (%s) of image %s", p.Name, p.SHA256, l.Image)
					}
				}
			}

			// Not in a registry: generated from the image, said on stderr, the same packages.
			gen := runEnv(t, env.env(), suite.berthBin, "sbom", "oci-layout:"+layout+":"+c.image)
			if gen.Err != nil || !strings.Contains(gen.Stderr, "generated from the image") {
				t.Fatalf("berth sbom of a layout: %v, stderr %q", gen.Err, gen.Stderr)
			}
			var genDoc struct {
				Packages []struct {
					ExternalRefs []struct{ ReferenceType, ReferenceLocator string }
				}
			}
			mustJSON(t, gen.Stdout, &genDoc)
			genPurls := map[string]bool{}
			for _, p := range genDoc.Packages {
				for _, r := range p.ExternalRefs {
					if r.ReferenceType == "purl" && !strings.HasPrefix(r.ReferenceLocator, "pkg:oci/") {
						genPurls[r.ReferenceLocator] = true
					}
				}
			}
			if !mapsEqualBool(genPurls, purls) {
				t.Errorf("generated SBOM differs from the attached one:\n%s", setDiff(genPurls, purls))
			}

			compareWithSyft(t, layout, purls)
		})
	}
}

// goVersionM lists the modules `go version -m` reports for bin as
// PATH@VERSION (a replaced module as its replacement), plus stdlib@goX.
func goVersionM(t *testing.T, bin string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	lines := strings.Split(mustRun(t, "go", "version", "-m", bin), "\n")
	_, gover, _ := strings.Cut(lines[0], ": ")
	out["stdlib@"+strings.TrimSpace(gover)] = true
	var last string
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "mod", "dep":
			v := ""
			if len(f) > 2 {
				v = f[2]
			}
			last = f[1] + "@" + v
			out[last] = true
		case "=>":
			delete(out, last)
			out[f[1]+"@"+f[2]] = true
		}
	}
	return out
}

// compareWithSyft runs syft on the image's OCI layout: it must find the
// same packages as berth with the same purls once both are in canonical
// form (version percent-decoded, qualifiers sorted) and the distro
// qualifier is cut to the major release — syft writes debian-12.15 from
// /etc/debian_version, berth debian-12 from os-release's VERSION_ID (see
// docs/sbom.md). Every raw difference is logged.
func compareWithSyft(t *testing.T, layout string, berth map[string]bool) {
	syft, err := exec.LookPath("syft")
	if err != nil {
		if syft = filepath.Join(suite.repoRoot, "bin", "syft"); !fileExists(syft) {
			t.Logf("syft not installed (bash scripts/deps.sh): no comparison")
			return
		}
	}
	out := mustRunEnv(t, []string{"SYFT_CHECK_FOR_APP_UPDATE=false"}, syft, "scan", "oci-dir:"+layout, "-q", "-o", "json")
	var doc struct {
		Artifacts []struct{ Purl string }
	}
	mustJSON(t, out, &doc)
	theirs := map[string]bool{}
	for _, a := range doc.Artifacts {
		if a.Purl != "" {
			theirs[a.Purl] = true
		}
	}
	t.Logf("berth %d packages, syft %d", len(berth), len(theirs))
	t.Logf("raw purls, berth vs syft:\n%s", setDiff(berth, theirs))
	canon := func(set map[string]bool) map[string]bool {
		out := map[string]bool{}
		for p := range set {
			out[canonicalPURL(t, p)] = true
		}
		return out
	}
	if a, b := canon(berth), canon(theirs); !mapsEqualBool(a, b) {
		t.Errorf("berth and syft disagree on packages (canonical purls; missing = only syft):\n%s", setDiff(a, b))
	}
}

// canonicalPURL decodes the version and qualifier values, sorts the
// qualifiers and keeps only the major release of distro=.
func canonicalPURL(t *testing.T, p string) string {
	base, q, _ := strings.Cut(p, "?")
	if i := strings.LastIndexByte(base, '@'); i >= 0 {
		v, err := url.PathUnescape(base[i+1:])
		if err != nil {
			t.Fatalf("purl %s: %v", p, err)
		}
		base = base[:i+1] + v
	}
	vals, err := url.ParseQuery(q)
	if err != nil {
		t.Fatalf("purl %s: %v", p, err)
	}
	var keys []string
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		v := vals.Get(k)
		if k == "distro" {
			if name, ver, ok := strings.Cut(v, "-"); ok {
				major, _, _ := strings.Cut(ver, ".")
				v = name + "-" + major
			}
		}
		parts = append(parts, k+"="+v)
	}
	if len(parts) == 0 {
		return base
	}
	return base + "?" + strings.Join(parts, "&")
}

func qualifier(purl, key string) string {
	_, q, _ := strings.Cut(purl, "?")
	for _, kv := range strings.Split(q, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func mapsEqualBool(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func setDiff(got, want map[string]bool) string {
	var b strings.Builder
	for _, k := range sortedSet(want) {
		if !got[k] {
			b.WriteString("  missing: " + k + "\n")
		}
	}
	for _, k := range sortedSet(got) {
		if !want[k] {
			b.WriteString("  extra:   " + k + "\n")
		}
	}
	return b.String()
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
