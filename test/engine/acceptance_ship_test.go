package engine

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestShipThenRollback: `berth ship --env` builds the example app from
// berth.yaml, pushes it to the environment's registry and deploys exactly
// the pushed digest; a second ship replaces it; `berth rollback` brings the
// first back as a new revision.
func TestShipThenRollback(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the example is built for linux/amd64")
	}
	s := newStackEnv(t, "goapp")
	apt := aptRepoDir(t)
	reg, err := startRegistryProcess(filepath.Join(s.work, "registry"), filepath.Join(s.work, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.stop)
	dir := copyExample(t, "goapp", s.work)
	file := filepath.Join(dir, "berth.yaml")
	port := freePort(t)
	s.env = append(s.env, "BERTH_APT_URL=file://"+apt)
	_, regPort, _ := strings.Cut(reg.addr, ":")
	vars := []string{"-f", file, "-E", "demo", "--set", "REGISTRY_PORT=" + regPort, "--set", "APP_PORT=" + strconv.Itoa(port)}

	ship := func(version string) string {
		t.Helper()
		d := deployedOne(t, s.berth(append([]string{"ship", "--tag", version, "--set", "VERSION=" + version, "--json"}, vars...)...)).Digest
		// What runs is what the registry holds under the tag.
		req, _ := http.NewRequest(http.MethodHead, "http://"+reg.addr+"/v2/example/app/manifests/"+version, nil)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Docker-Content-Digest"); got != d {
			t.Fatalf("ship %s deployed %s, the registry's tag is %s", version, d, got)
		}
		// ship attached the image's SBOMs and provenance (referrers API).
		resp, err = http.Get("http://" + reg.addr + "/v2/example/app/referrers/" + d)
		if err != nil {
			t.Fatal(err)
		}
		var idx struct {
			Manifests []struct{ Annotations map[string]string }
		}
		err = json.NewDecoder(resp.Body).Decode(&idx)
		resp.Body.Close()
		var types []string
		for _, m := range idx.Manifests {
			types = append(types, m.Annotations["in-toto.io/predicate-type"])
		}
		sort.Strings(types)
		if want := "https://cyclonedx.org/bom https://slsa.dev/provenance/v1 https://spdx.dev/Document"; err != nil || strings.Join(types, " ") != want {
			t.Fatalf("referrers of %s: %v %v, want the predicate types %s", d, types, err, want)
		}
		return d
	}
	only := func(want string) { t.Helper(); waitOnlyVersion(t, port, want) }

	d7 := ship("7.0.0")
	only("7.0.0")
	d8 := ship("8.0.0")
	only("8.0.0")
	if d7 == d8 {
		t.Fatalf("two versions, one digest %s", d7)
	}
	s.berth(append([]string{"rollback", "app"}, vars...)...)
	only("7.0.0")

	var h []struct {
		Revision, RollbackOf int
		Digest, Outcome      string
		Current              bool
	}
	out := s.berth(append([]string{"history", "app", "--json"}, vars...)...)
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatalf("history: %v\n%s", err, out)
	}
	if len(h) != 3 || h[0].Digest != d7 || h[1].Digest != d8 || h[2].Digest != d7 || h[2].RollbackOf != 1 || !h[2].Current || h[2].Outcome != "deployed" {
		t.Fatalf("history after ship, ship, rollback: %+v", h)
	}
}
