package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/inspect"
)

// cmdLayer is a layer of regular files (path → content).
func cmdLayer(t *testing.T, files ...string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		if err := tw.WriteHeader(&tar.Header{Name: files[i], Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[i+1]))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[i+1]))
	}
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func cmdImage(t *testing.T, base v1.Image, names []string, layers ...v1.Layer) v1.Image {
	t.Helper()
	if base == nil {
		base = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		cf, _ := base.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", "amd64"
		base, _ = mutate.ConfigFile(base, cf)
	}
	var adds []mutate.Addendum
	for i, l := range layers {
		adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: inspect.BerthCreatedByPrefix + names[i]}})
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func runImageCmd(t *testing.T, cmd *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestImageCommands(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "layout")
	lay := func(tag string) string { return imageref.LayoutPrefix + dir + ":" + tag }

	base1 := cmdImage(t, nil, []string{"os"}, cmdLayer(t, "etc/os-release", "12.8",
		"var/lib/dpkg/status.d/libc6", "Package: libc6\nVersion: 2.36-9\n"))
	base2 := cmdImage(t, nil, []string{"os"}, cmdLayer(t, "etc/os-release", "12.9",
		"var/lib/dpkg/status.d/libc6", "Package: libc6\nVersion: 2.36-10\n"))
	app := cmdImage(t, base1, []string{"app"}, cmdLayer(t, "app", "binary", "etc/os-release", "dup"))
	b1d, _ := base1.Digest()
	app = mutate.Annotations(app, map[string]string{
		ocispec.AnnotationBaseImageName:   lay("base1"),
		ocispec.AnnotationBaseImageDigest: b1d.String(),
	}).(v1.Image)
	for tag, img := range map[string]v1.Image{"base1": base1, "base2": base2, "app": app} {
		if err := imageref.Write(ctx, img, lay(tag), imageref.Options{}); err != nil {
			t.Fatal(err)
		}
	}

	// inspect, human and JSON.
	out, err := runImageCmd(t, newInspectCommand(), lay("app"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Digest", "Efficiency", "CONCERN", "os", "app", "/etc/os-release", "annotations"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	out, err = runImageCmd(t, newInspectCommand(), lay("app"), "--json", "--top", "1")
	if err != nil {
		t.Fatal(err)
	}
	var r inspect.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	// /etc/os-release is in both layers: 4 + 3 bytes wasted.
	if len(r.Layers) != 2 || r.WastedBytes != 7 || len(r.LargestFiles) != 1 {
		t.Errorf("inspect --json: %+v", r)
	}

	// diff.
	out, err = runImageCmd(t, newDiffCommand(), lay("base1"), lay("base2"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"~ /etc/os-release (content)", "~ libc6 2.36-9 → 2.36-10"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff output lacks %q:\n%s", want, out)
		}
	}

	// rebase: an output is required; then onto base2 via the annotations.
	if _, err := runImageCmd(t, newRebaseCommand(), lay("app"), "--onto", lay("base2")); err == nil || !strings.Contains(err.Error(), "exactly one output") {
		t.Fatalf("rebase without output: %v", err)
	}
	out, err = runImageCmd(t, newRebaseCommand(), lay("app"), "--onto", lay("base2"), "--oci-layout", dir+":rebased")
	if err != nil {
		t.Fatal(err)
	}
	rebased, err := imageref.Load(ctx, lay("rebased"), imageref.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := rebased.Digest()
	if strings.TrimSpace(out) != d.String() {
		t.Errorf("rebase printed %q, layout has %s", out, d)
	}
	out, err = runImageCmd(t, newDiffCommand(), lay("app"), lay("rebased"), "--json")
	if err != nil {
		t.Fatal(err)
	}
	var dr inspect.DiffReport
	if err := json.Unmarshal([]byte(out), &dr); err != nil {
		t.Fatal(err)
	}
	// The app layer still overrides /etc/os-release; only the package moved.
	if len(dr.Files) != 1 || dr.Files[0].Path != "/var/lib/dpkg/status.d/libc6" || len(dr.Packages) != 1 {
		t.Errorf("diff after rebase: %+v", dr)
	}
	// Rebasing onto the wrong old base is refused.
	_, err = runImageCmd(t, newRebaseCommand(), lay("app"), "--old-base", lay("base2"), "--onto", lay("base1"), "--oci-layout", dir+":x")
	if err == nil || !strings.Contains(err.Error(), "cannot rebase") {
		t.Errorf("wrong old base: %v", err)
	}
}

// diff compares the configurations too (it said "no differences" for
// images with the same files), and --exit-code answers 1 / 0 like git.
func TestDiffConfigAndExitCode(t *testing.T) {
	t.Setenv("BERTH_CACHE", t.TempDir())
	dir := t.TempDir()
	yaml := filepath.Join(dir, "berth.yaml")
	os.WriteFile(yaml, []byte(`images:
  a:
    layers:
      - name: etc
        paths: [{path: /etc/app, type: directory}]
    config: {cmd: [/app], stopSignal: SIGTERM}
  b:
    layers:
      - name: etc
        paths: [{path: /etc/app, type: directory}]
    config: {cmd: [/app, --debug], stopSignal: SIGQUIT}
`), 0o644)
	out := filepath.Join(t.TempDir(), "out")
	if _, stderr, err := runCLI(t, "build", "-q", "-f", yaml, "--oci-layout", out); err != nil {
		t.Fatalf("build: %v\n%s", err, stderr)
	}
	a, b := "oci-layout:"+out+":a", "oci-layout:"+out+":b"
	stdout, _, err := runCLI(t, "diff", a, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Config\n", `~ cmd ["/app"] → ["/app","--debug"]`, "~ stopSignal SIGTERM → SIGQUIT"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("diff output lacks %q:\n%s", w, stdout)
		}
	}
	if strings.Contains(stdout, "no differences") {
		t.Errorf("diff says no differences:\n%s", stdout)
	}
	_, _, err = runCLI(t, "diff", "--exit-code", a, b)
	if msg, code := describeError(err); err == nil || code != 1 || msg != "" {
		t.Errorf("diff --exit-code of different images: err %v (exit %d, message %q)", err, code, msg)
	}
	stdout, _, err = runCLI(t, "diff", "--exit-code", a, a)
	if err != nil || !strings.Contains(stdout, "no differences") {
		t.Errorf("diff --exit-code of the same image: %v\n%s", err, stdout)
	}
}
