package engine

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestPromoteStagingToProd is the promotion workflow on one host, with two
// registries and two stacks standing for two environments: prod runs 1.0.0
// from its registry; `berth ship --env staging` builds 2.0.0, pushes it to
// staging's registry and deploys it there, where it is tested; `berth
// promote --from staging --to prod` copies that digest to prod's registry
// (only the blobs prod lacks: the base layers are already there); `berth
// deploy --env prod --tag 2.0.0` then runs exactly the digest staging
// tested, without building anything. An SBOM attached in staging arrives
// in prod with it (the target registry's referrers API lists it).
func TestPromoteStagingToProd(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the example is built for linux/amd64")
	}
	s := newStackEnv(t, "staging")
	t.Cleanup(func() {
		if out, err := s.try("down", "-v", "-p", "prod"); err != nil {
			t.Errorf("cleanup: berth down -p prod: %v\n%s", err, out)
		}
	})
	s.env = append(s.env, "BERTH_APT_URL=file://"+aptRepoDir(t))
	var regs [2]*registryProcess
	for i, name := range []string{"staging", "prod"} {
		reg, err := startRegistryProcess(filepath.Join(s.work, "registry-"+name), filepath.Join(s.work, "registry-"+name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(reg.stop)
		regs[i] = reg
	}
	staging, prod := regs[0].addr, regs[1].addr

	dir := copyExample(t, "goapp", s.work)
	file := filepath.Join(dir, "berth.yaml")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	raw = append(raw, "  staging: {registry: \"${STAGING}\", repository: example}\n  prod: {registry: \"${PROD}\", repository: example}\n"...)
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	stagingPort, prodPort := freePort(t), freePort(t)
	vars := []string{"-f", file, "--set", "STAGING=" + staging, "--set", "PROD=" + prod}
	in := func(project string, port int) []string {
		return append([]string{"-p", project, "--set", "APP_PORT=" + strconv.Itoa(port)}, vars...)
	}
	// prod's current release, 1.0.0, in prod's registry and running.
	s.berth(append([]string{"build", "app", "--set", "VERSION=1.0.0", "--push", prod + "/example/app:1.0.0"}, vars...)...)
	deployedOne(t, s.berth(append([]string{"deploy", "-E", "prod", "--tag", "1.0.0", "--json"}, in("prod", prodPort)...)...))
	waitOnlyVersion(t, prodPort, "1.0.0")

	// 2.0.0 shipped to staging and tested there.
	tested := deployedOne(t, s.berth(append([]string{"ship", "-E", "staging", "--tag", "2.0.0", "--set", "VERSION=2.0.0", "--json"}, in("staging", stagingPort)...)...)).Digest
	waitOnlyVersion(t, stagingPort, "2.0.0")

	// Which of 2.0.0's blobs prod's registry lacks, asked of the registry.
	var m struct {
		Config struct{ Digest string }
		Layers []struct{ Digest string }
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+staging+"/v2/example/app/manifests/"+tested, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if err != nil || m.Config.Digest == "" || len(m.Layers) == 0 {
		t.Fatalf("manifest %s from staging: %+v %v", tested, m, err)
	}
	blobs := []string{m.Config.Digest}
	for _, l := range m.Layers {
		blobs = append(blobs, l.Digest)
	}
	inProd := func(digest string) bool {
		resp, err := http.Head("http://" + prod + "/v2/example/app/blobs/" + digest)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	var missing []string
	for _, d := range blobs {
		if !inProd(d) {
			missing = append(missing, d)
		}
	}
	if len(missing) == 0 || len(missing) == len(blobs) {
		t.Fatalf("prod lacks %d of 2.0.0's %d blobs; want some shared (the base) and some new", len(missing), len(blobs))
	}

	// Evidence attached in staging travels with the image.
	attachSBOM(t, staging+"/example/app:2.0.0")
	referrers := func(host string) map[string]string {
		resp, err := http.Get("http://" + host + "/v2/example/app/referrers/" + tested)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var idx struct {
			Manifests []struct{ Digest, ArtifactType string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, m := range idx.Manifests {
			out[m.Digest] = m.ArtifactType
		}
		return out
	}
	// ship attached the SBOMs and provenance (in-toto statements), the
	// test a signed SPDX bundle.
	stagingEvidence := referrers(staging)
	kinds := map[string]int{}
	for _, at := range stagingEvidence {
		kinds[at]++
	}
	if kinds["application/vnd.dev.sigstore.bundle.v0.3+json"] != 1 || kinds["application/vnd.in-toto+json"] != 3 {
		t.Fatalf("staging referrers of %s: %v, want ship's 3 statements and the test's bundle", tested, stagingEvidence)
	}

	out := s.berth(append([]string{"promote", "app:2.0.0", "--from", "staging", "--to", "prod", "--json"}, vars...)...)
	var p struct {
		Digest                    string
		BlobsCopied, BlobsSkipped int
		From, To                  string
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &p); err != nil {
		t.Fatalf("promote output: %v\n%s", err, out)
	}
	if p.Digest != tested || p.From != "staging" || p.To != "prod" {
		t.Fatalf("promoted %+v, staging tested %s", p, tested)
	}
	if p.BlobsCopied != len(missing) || p.BlobsSkipped != len(blobs)-len(missing) {
		t.Fatalf("promote copied %d and skipped %d blobs; prod lacked %d of %d", p.BlobsCopied, p.BlobsSkipped, len(missing), len(blobs))
	}
	for _, d := range blobs {
		if !inProd(d) {
			t.Fatalf("after promote prod lacks %s", d)
		}
	}
	prodEvidence := referrers(prod)
	for d, at := range stagingEvidence {
		if prodEvidence[d] != at {
			t.Fatalf("prod referrers %v lack staging's %s (%s)", prodEvidence, d, at)
		}
	}
	if len(prodEvidence) != len(stagingEvidence)+1 {
		t.Fatalf("prod referrers %v: want staging's plus the promotion record", prodEvidence)
	}

	// prod deploys its own registry's tag, building nothing: the digest
	// staging tested.
	if out := s.berthFail(append([]string{"deploy", "--tag", "2.0.0"}, in("prod", prodPort)...)...); !strings.Contains(out, "--tag 2.0.0 needs --env NAME") {
		t.Errorf("deploy --tag without --env: %s", out)
	}
	out = s.berth(append([]string{"deploy", "-E", "prod", "--tag", "2.0.0", "--json"}, in("prod", prodPort)...)...)
	if strings.Contains(out, "app/static:") {
		t.Errorf("deploy --tag built the image:\n%s", out)
	}
	r := deployedOne(t, out)
	if r.Digest != tested || r.Revision != 2 {
		t.Fatalf("prod deployed %s (revision %d), staging tested %s", r.Digest, r.Revision, tested)
	}
	waitOnlyVersion(t, prodPort, "2.0.0")
	var h []struct {
		Revision int
		Digest   string
		Current  bool
	}
	out = s.berth(append([]string{"history", "app", "--json"}, in("prod", prodPort)...)...)
	if err := json.Unmarshal([]byte(out), &h); err != nil || len(h) != 2 || !h[1].Current || h[1].Digest != tested {
		t.Fatalf("prod history: %v\n%s", err, out)
	}
}
