package engine

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
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
	vars := []string{"-f", file, "--env", "demo", "--set", "REGISTRY_PORT=" + regPort, "--set", "APP_PORT=" + strconv.Itoa(port)}

	type report struct {
		Services []struct {
			Service, Outcome, Digest string
			Revision                 int
		}
	}
	ship := func(version string) string {
		t.Helper()
		out := s.berth(append([]string{"ship", "--tag", version, "--set", "VERSION=" + version, "--json"}, vars...)...)
		var r report
		if err := json.Unmarshal([]byte(out[strings.Index(out, "{\n"):]), &r); err != nil || len(r.Services) != 1 || r.Services[0].Outcome != "deployed" {
			t.Fatalf("ship %s: %v\n%s", version, err, out)
		}
		// What runs is what the registry holds under the tag.
		req, _ := http.NewRequest(http.MethodHead, "http://"+reg.addr+"/v2/example/app/manifests/"+version, nil)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Docker-Content-Digest"); got != r.Services[0].Digest {
			t.Fatalf("ship %s deployed %s, the registry's tag is %s", version, r.Services[0].Digest, got)
		}
		return r.Services[0].Digest
	}
	version := func() string {
		body, err := get(fmt.Sprintf("http://127.0.0.1:%d/version", port))
		if err != nil {
			return err.Error()
		}
		var v struct{ Version string }
		_ = json.Unmarshal([]byte(body), &v)
		return v.Version
	}
	only := func(want string) {
		t.Helper()
		eventually(t, "only "+want+" answering", 15*time.Second, func() (bool, string) {
			for range 10 {
				if got := version(); got != want {
					return false, got
				}
			}
			return true, ""
		})
	}

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
