package main

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// pushVulnerableGoImage builds a tiny Go program against golang.org/x/text
// v0.3.7 (GHSA-69ch-w2m2-3vjp: CVSS 3.1 7.5, high; fixed in 0.3.8) and
// pushes an image holding it to ref.
func pushVulnerableGoImage(t *testing.T, ref string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Go binary (-short)")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/vulnapp\n\ngo 1.22\n\nrequire golang.org/x/text v0.3.7\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nimport (\n\t\"fmt\"\n\n\t\"golang.org/x/text/language\"\n)\n\nfunc main() {\n\tfmt.Println(language.ParseAcceptLanguage(\"en\"))\n}\n"), 0o644)
	cmd := exec.Command("go", "build", "-mod=mod", "-trimpath", "-o", "app", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(filepath.Join(dir, "app"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "app", Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg})
	tw.Write(bin)
	tw.Close()
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(buf.Bytes(), types.OCIUncompressedLayer))
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
}

// The severity gate through the real CLI: berth promote into an
// environment whose policy sets max_severity, with berth's registry and the
// wired scanner (the default vulnerability database holding the real
// GHSA-69ch-w2m2-3vjp record). No database refuses; medium refuses naming
// the image, the rule and the advisory, and copies nothing; high allows
// (7.5 is high, not above it); medium with an OpenVEX not_affected
// statement allows.
func TestPromoteMaxSeverityWithRealAdvisory(t *testing.T) {
	t.Setenv("BERTH_CACHE", t.TempDir())
	staging, prod := promoteRegistry(t), promoteRegistry(t)
	pushVulnerableGoImage(t, staging+"/example/app:1.0")

	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "vex"), 0o755)
	writeYAML := func(policy string) string {
		f := filepath.Join(dir, "berth.yaml")
		y := `images:
  app:
    layers:
      - name: etc
        paths: [{path: /etc/app, type: directory}]
environments:
  staging:
    registry: ` + staging + `
    repository: example
  prod:
    registry: ` + prod + `
    repository: example
    policy:
` + policy
		if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	promoteTo := func(policy string) (string, error) {
		return runImageCmd(t, newPromoteCommand(), "app:1.0", "--from", "staging", "--to", "prod", "-f", writeYAML(policy))
	}
	notInProd := func(when string) {
		t.Helper()
		r, _ := name.ParseReference(prod + "/example/app:1.0")
		if _, err := remote.Head(r); err == nil {
			t.Errorf("%s: the image reached prod", when)
		}
	}

	// No vulnerability database: fail closed.
	_, err := promoteTo("      max_severity: medium\n")
	if err == nil || !strings.Contains(err.Error(), "max_severity: no vulnerability database") || !strings.Contains(err.Error(), "berth vulndb import") {
		t.Fatalf("promote without a vulnerability database: %v", err)
	}
	notInProd("no database")

	ghsa, _ := filepath.Abs("../../test/fixtures/osv/ghsa")
	if out, _, err := runCLI(t, "vulndb", "import", ghsa); err != nil || !strings.Contains(out, "1 records read, 1 added") {
		t.Fatalf("vulndb import: %q %v", out, err)
	}

	_, err = promoteTo("      max_severity: medium\n")
	if err == nil {
		t.Fatal("max_severity medium: promoted an image with a high finding")
	}
	for _, s := range []string{`policy of environment "prod"`, staging + "/example/app@sha256:", "refused: max_severity: GHSA-69ch-w2m2-3vjp (high) in golang.org/x/text v0.3.7, fixed in 0.3.8 is above medium"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("refusal %q does not say %q", err, s)
		}
	}
	notInProd("max_severity medium")

	if _, err := promoteTo("      max_severity: high\n"); err != nil {
		t.Fatalf("max_severity high (the finding is high, not above): %v", err)
	}

	// A VEX statement for the advisory and the module: allowed at medium.
	os.WriteFile(filepath.Join(dir, "vex", "text.json"), []byte(`{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/text","author":"ops","timestamp":"2026-12-01T00:00:00Z","version":1,
"statements":[{"vulnerability":{"name":"CVE-2022-32149"},"products":[{"@id":"pkg:golang/golang.org/x/text@v0.3.7"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}`), 0o644)
	if out, err := promoteTo("      max_severity: medium\n      vex: [vex/]\n"); err != nil {
		t.Fatalf("max_severity medium with the VEX statement: %v", err)
	} else if !strings.Contains(out, "promoted") {
		t.Errorf("output %q", out)
	}
}
