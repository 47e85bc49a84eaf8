package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/imageref"
)

// runCLI runs berth's root command with args and returns stdout, stderr.
func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errb.String(), err
}

func TestBuildDockerfile(t *testing.T) {
	t.Setenv("BERTH_CACHE", t.TempDir())
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(`FROM scratch
ARG VERSION=1
COPY --chmod=0600 hello.txt /srv/hello.txt
ENV VERSION=$VERSION
WORKDIR /srv
USER 65532
EXPOSE 8080
ENTRYPOINT ["/srv/app"]
`), 0o644)
	out := filepath.Join(t.TempDir(), "layout")
	stdout, stderr, err := runCLI(t, "build", "--dockerfile", filepath.Join(dir, "Dockerfile"), "--set", "VERSION=7", "--oci-layout", out)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "sha256:") {
		t.Fatalf("no digest printed: %q", stdout)
	}
	img, err := imageref.Load(t.Context(), imageref.LayoutPrefix+out, imageref.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	c := cf.Config
	if c.WorkingDir != "/srv" || c.User != "65532" || len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/srv/app" {
		t.Fatalf("config: %+v", c)
	}
	if !strings.Contains(strings.Join(c.Env, " "), "VERSION=7") {
		t.Fatalf("env %v lacks VERSION=7 from --set", c.Env)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Fatalf("ports %v", c.ExposedPorts)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1 (the COPY)", len(layers))
	}

	// RUN is refused at its line, pointing to declarative equivalents, and
	// nothing is written.
	os.WriteFile(filepath.Join(dir, "Dockerfile.run"), []byte("FROM scratch\nRUN apt-get install -y curl\n"), 0o644)
	out2 := filepath.Join(t.TempDir(), "none")
	_, _, err = runCLI(t, "build", "--dockerfile", filepath.Join(dir, "Dockerfile.run"), "--oci-layout", out2)
	if err == nil || !strings.Contains(err.Error(), "Dockerfile.run:2") || !strings.Contains(err.Error(), "debs") {
		t.Fatalf("RUN: err = %v", err)
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Fatal("a failed build wrote its output")
	}
}

// build -q prints the digests only, one line per image: no names, no
// destinations, no "wrote berth.lock".
func TestBuildQuietPrintsOnlyDigests(t *testing.T) {
	t.Setenv("BERTH_CACHE", t.TempDir())
	dir := t.TempDir()
	yaml := filepath.Join(dir, "berth.yaml")
	os.WriteFile(yaml, []byte(`images:
  app:
    layers:
      - name: etc
        paths: [{path: /etc/app, type: directory}]
  worker:
    layers:
      - name: etc
        paths: [{path: /etc/worker, type: directory}]
`), 0o644)
	stdout, stderr, err := runCLI(t, "build", "-q", "-f", yaml, "--oci-layout", filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatalf("build -q: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("build -q printed %d lines, want 2 (one per image):\n%s", len(lines), stdout)
	}
	for _, l := range lines {
		if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(l) {
			t.Errorf("build -q line %q is not a digest", l)
		}
	}
	if lines[0] == lines[1] {
		t.Errorf("both images have digest %s", lines[0])
	}
	if _, err := os.Stat(filepath.Join(dir, "berth.lock")); err != nil {
		t.Fatalf("no lock written (the quiet run must still write it): %v", err)
	}
	if stderr != "" {
		t.Errorf("build -q wrote progress: %q", stderr)
	}
}
