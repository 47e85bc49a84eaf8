package engine

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestPolicyGateMaxSeverity is the severity half of the gate acceptance,
// through the real CLI and daemon: examples/goapp built against
// golang.org/x/text v0.3.7 (GHSA-69ch-w2m2-3vjp, CVSS 3.1 7.5 high, the
// real advisory in test/fixtures/osv/ghsa) and pushed to a berth registry
// is refused by `deploy -E prod --tag` under max_severity: medium — no
// container starts — and deploys once an OpenVEX statement says the
// vulnerable code is not in its execute path.
func TestPolicyGateMaxSeverity(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the example is built for linux/amd64")
	}
	s := newStackEnv(t, "prod")
	s.env = append(s.env, "BERTH_APT_URL=file://"+aptRepoDir(t))
	reg, err := startRegistryProcess(filepath.Join(s.work, "registry"), filepath.Join(s.work, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.stop)
	prod := reg.addr

	dir := copyExample(t, "goapp", s.work)
	// The app now uses golang.org/x/text/language at the vulnerable version.
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/goapp\n\ngo 1.22\n\nrequire golang.org/x/text v0.3.7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lang.go"), []byte("package main\n\nimport \"golang.org/x/text/language\"\n\nvar _ = language.English\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir = dir
	tidy.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := tidy.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	os.MkdirAll(filepath.Join(dir, "vex"), 0o755)
	file := filepath.Join(dir, "berth.yaml")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	raw = append(raw, "  prod:\n    registry: \"${PROD}\"\n    repository: example\n    policy: {max_severity: medium, vex: [vex/]}\n"...)
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	vars := []string{"-f", file, "--set", "PROD=" + prod}
	in := append([]string{"-p", "prod", "--set", "APP_PORT=" + strconv.Itoa(port)}, vars...)

	ghsa := filepath.Join(examplesDir, "..", "test", "fixtures", "osv", "ghsa")
	s.berth("vulndb", "import", ghsa)
	s.berth(append([]string{"build", "app", "--set", "VERSION=1.0.0", "--push", prod + "/example/app:1.0.0"}, vars...)...)
	d, err := remote.Head(mustRef(t, prod+"/example/app:1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	out := s.berthFail(append([]string{"deploy", "-E", "prod", "--tag", "1.0.0"}, in...)...)
	want := `policy of environment "prod": image ` + prod + `/example/app@` + d.Digest.String() +
		` refused: max_severity: GHSA-69ch-w2m2-3vjp (high) in golang.org/x/text v0.3.7, fixed in 0.3.8 is above medium`
	if !strings.Contains(out, want) {
		t.Fatalf("deploy of the vulnerable image:\n%s\nwant %s", out, want)
	}

	vex := `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/goapp","author":"ops","timestamp":"2026-12-01T00:00:00Z","version":1,
"statements":[{"vulnerability":{"name":"GHSA-69ch-w2m2-3vjp"},"products":[{"@id":"pkg:golang/golang.org/x/text@v0.3.7"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}`
	if err := os.WriteFile(filepath.Join(dir, "vex", "text.json"), []byte(vex), 0o644); err != nil {
		t.Fatal(err)
	}
	r := deployedOne(t, s.berth(append([]string{"deploy", "-E", "prod", "--tag", "1.0.0", "--json"}, in...)...))
	if r.Digest != d.Digest.String() {
		t.Fatalf("deployed %+v, want %s", r, d.Digest)
	}
	waitOnlyVersion(t, port, "1.0.0")
}
