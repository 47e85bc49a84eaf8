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

// TestBuildContextEscapeRefused is the hardening issue's reproduction at
// the command line: an untrusted berth.yaml (a pull request built by CI)
// with context: ../secret copied a host file into the image. berth build
// refuses it, naming file:line:col, field and value, and writes neither
// the output nor a lock; --context widens what the file may read.
func TestBuildContextEscapeRefused(t *testing.T) {
	t.Setenv("BERTH_CACHE", t.TempDir())
	root := t.TempDir()
	app, secret := filepath.Join(root, "app"), filepath.Join(root, "secret")
	os.MkdirAll(app, 0o755)
	os.MkdirAll(secret, 0o755)
	os.WriteFile(filepath.Join(secret, "shadow"), []byte("root:$6$hash:\n"), 0o600)
	file := filepath.Join(app, "berth.yaml")
	os.WriteFile(file, []byte(`context: ../secret
images:
  app:
    layers:
      - name: f
        files: [{src: shadow, dest: /shadow}]
`), 0o644)
	out := filepath.Join(t.TempDir(), "layout")

	_, _, err := runCLI(t, "build", "-f", file, "--oci-layout", out)
	if err == nil || !strings.Contains(err.Error(), "berth.yaml:1:10: context:") || !strings.Contains(err.Error(), `"../secret"`) || !strings.Contains(err.Error(), "--context") {
		t.Fatalf("err = %v", err)
	}
	assertNothingWritten(t, out, app)

	// The user trusts the file: --context names the wider directory.
	stdout, stderr, err := runCLI(t, "build", "-f", file, "--context", root, "--oci-layout", out)
	if err != nil {
		t.Fatalf("with --context: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "sha256:") {
		t.Fatalf("stdout %q", stdout)
	}
}

// TestBuildLdflagsRefused: -ldflags "-o PATH" made the linker write an
// attacker-compiled binary (mode 0755) at PATH on the build host.
func TestBuildLdflagsRefused(t *testing.T) {
	t.Setenv("BERTH_CACHE", t.TempDir())
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "pwned")
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/x\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	for _, ld := range []string{"-o " + victim, "-cpuprofile " + victim, "-memprofile=" + victim} {
		os.WriteFile(filepath.Join(dir, "berth.yaml"), []byte(`images:
  app:
    layers:
      - name: g
        go: {package: ., output: /app, ldflags: "`+ld+`"}
`), 0o644)
		out := filepath.Join(t.TempDir(), "layout")
		_, _, err := runCLI(t, "build", "-f", filepath.Join(dir, "berth.yaml"), "--oci-layout", out)
		flag, _, _ := strings.Cut(strings.Fields(ld)[0], "=")
		if err == nil || !strings.Contains(err.Error(), "berth.yaml:5:") || !strings.Contains(err.Error(), "go.ldflags: linker flag \""+flag+"\" is not allowed") {
			t.Fatalf("ldflags %q: err = %v", ld, err)
		}
		if _, err := os.Lstat(victim); err == nil {
			t.Fatalf("ldflags %q wrote %s", ld, victim)
		}
		assertNothingWritten(t, out, dir)
	}
}

// TestBuildFailureWritesNoOutput: with several images, one refused at build
// time (a files src symlinked out of the context) used to leave the images
// built before it written into the output.
func TestBuildFailureWritesNoOutput(t *testing.T) {
	t.Setenv("BERTH_CACHE", t.TempDir())
	dir, outside := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(dir, "ok.txt"), []byte("ok\n"), 0o644)
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret\n"), 0o600)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "link"))
	os.WriteFile(filepath.Join(dir, "berth.yaml"), []byte(`images:
  a:
    layers: [{name: f, files: [{src: ok.txt, dest: /ok.txt}]}]
  b:
    layers: [{name: f, files: [{src: link, dest: /secret}]}]
`), 0o644)
	out := filepath.Join(t.TempDir(), "layout")
	_, _, err := runCLI(t, "build", "-f", filepath.Join(dir, "berth.yaml"), "--oci-layout", out)
	if err == nil || !strings.Contains(err.Error(), "outside the build context") || !strings.Contains(err.Error(), "image b, layer f") {
		t.Fatalf("err = %v", err)
	}
	assertNothingWritten(t, out, dir)
}

func assertNothingWritten(t *testing.T, out, fileDir string) {
	t.Helper()
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused build wrote its output %s", out)
	}
	if _, err := os.Stat(filepath.Join(fileDir, "berth.lock")); !os.IsNotExist(err) {
		t.Errorf("a refused build wrote berth.lock")
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
	// No debs layers: nothing to pin, so no berth.lock (internal/build's
	// TestBuildWithoutDebsWritesNoLock; the e2e TestBuildNginx checks a
	// build with debs writes one).
	if _, err := os.Stat(filepath.Join(dir, "berth.lock")); !os.IsNotExist(err) {
		t.Fatalf("berth.lock written for images without debs: %v", err)
	}
	if stderr != "" {
		t.Errorf("build -q wrote progress: %q", stderr)
	}
}
