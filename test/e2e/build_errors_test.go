package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBuildErrors feeds berth build bad input: each failure must be one
// clear error naming what is wrong and where (file:line, package, path),
// and leave nothing behind: no OCI layout, no archive, no berth.lock.
func TestBuildErrors(t *testing.T) {
	t.Parallel()
	env := newBuildEnv(t, false)

	t.Run("unknown-package", func(t *testing.T) {
		dir := t.TempDir()
		yaml := debsYAML("bookworm", "${BERTH_APT_URL}", "base-files", "no-such-package")
		writeFile(t, dir, "berth.yaml", yaml)
		expectBuildError(t, env, dir,
			fmt.Sprintf("berth.yaml:%d:", lineOf(t, yaml, "- name: os")),
			`package "no-such-package" is not in any repository`)
	})

	t.Run("unsatisfiable-dependency", func(t *testing.T) {
		// A repository of two packages: berth-app needs berth-lib >= 2.0,
		// and only 1.5 exists.
		repo := t.TempDir()
		writeTinyRepo(t, repo, "tiny", []tinyPackage{
			{Name: "berth-app", Version: "1.0", Depends: "berth-lib (>= 2.0)"},
			{Name: "berth-lib", Version: "1.5"},
		})
		tiny := &buildEnv{AptURL: serveDir(t, repo, nil), Cache: env.Cache}
		dir := t.TempDir()
		yaml := debsYAML("tiny", tiny.AptURL, "berth-app")
		writeFile(t, dir, "berth.yaml", yaml)
		msg := expectBuildError(t, tiny, dir,
			fmt.Sprintf("berth.yaml:%d:", lineOf(t, yaml, "- name: os")),
			"berth-app", "berth-lib", ">= 2.0")
		if !strings.Contains(msg, "1.5") {
			t.Errorf("the error does not say which berth-lib exists (1.5):\n%s", msg)
		}
	})

	t.Run("hash-mismatch", func(t *testing.T) {
		// The signed index is honest; the server flips one byte of the
		// netbase .deb it sends. The cache is cold, so berth downloads it.
		repo := aptRepo(t)
		debs, _ := filepath.Glob(filepath.Join(repo, "pool", "main", "netbase_*.deb"))
		if len(debs) != 1 {
			t.Fatalf("want one netbase .deb in %s/pool/main, found %v", repo, debs)
		}
		urlPath := "/pool/main/" + filepath.Base(debs[0])
		corrupt := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != urlPath {
					next.ServeHTTP(w, r)
					return
				}
				b, err := os.ReadFile(debs[0])
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				b[len(b)/2] ^= 0xff
				w.Write(b)
			})
		}
		bad := &buildEnv{AptURL: serveDir(t, repo, corrupt), Cache: t.TempDir()}
		dir := t.TempDir()
		yaml := debsYAML("bookworm", "${BERTH_APT_URL}", "netbase")
		writeFile(t, dir, "berth.yaml", yaml)
		msg := expectBuildError(t, bad, dir,
			fmt.Sprintf("berth.yaml:%d:", lineOf(t, yaml, "- name: os")),
			"netbase", filepath.Base(debs[0]))
		if !strings.Contains(strings.ToLower(msg), "sha256") {
			t.Errorf("the error does not say the SHA256 did not match:\n%s", msg)
		}
		// The corrupt download was not kept: with an honest server and
		// the same cache, the build succeeds.
		honest := &buildEnv{AptURL: serveDir(t, repo, nil), Cache: bad.Cache}
		honest.build1(t, dir, "img")
	})

	t.Run("missing-file", func(t *testing.T) {
		dir := t.TempDir()
		yaml := "images:\n  img:\n    from: scratch\n    layers:\n      - name: site\n        files:\n" +
			"          - {src: index.html, dest: /srv/index.html}\n" +
			"          - {src: missing.txt, dest: /srv/missing.txt}\n"
		writeFile(t, dir, "berth.yaml", yaml)
		writeFile(t, dir, "index.html", "hello\n")
		expectBuildError(t, env, dir,
			fmt.Sprintf("berth.yaml:%d:", lineOf(t, yaml, "- name: site")),
			"layer site", "files[1]", `"missing.txt"`)
	})

	t.Run("bad-template", func(t *testing.T) {
		dir := t.TempDir()
		yaml := "vars:\n  NAME: world\nimages:\n  img:\n    from: scratch\n    layers:\n      - name: conf\n        files:\n" +
			"          - {src: app.conf.tmpl, dest: /etc/app.conf, template: true}\n"
		writeFile(t, dir, "berth.yaml", yaml)
		writeFile(t, dir, "app.conf.tmpl", "# app\ngreeting = hello {{ .NAME }\n")
		expectBuildError(t, env, dir,
			fmt.Sprintf("berth.yaml:%d:", lineOf(t, yaml, "- name: conf")),
			"layer conf", "app.conf.tmpl:2")
	})

	t.Run("unknown-field", func(t *testing.T) {
		dir := t.TempDir()
		yaml := "images:\n  img:\n    from: scratch\n    layers:\n      - name: site\n        filez:\n" +
			"          - {src: index.html, dest: /srv/index.html}\n"
		writeFile(t, dir, "berth.yaml", yaml)
		writeFile(t, dir, "index.html", "hello\n")
		expectBuildError(t, env, dir, "berth.yaml:6:9:", `unknown field "filez"`)
	})
}

// debsYAML is a berth.yaml with one image of one debs layer ("os").
func debsYAML(suite, url string, packages ...string) string {
	return fmt.Sprintf(`repositories:
  - name: %[1]s
    url: %[2]s
    suite: %[1]s
    components: [main]
images:
  img:
    from: scratch
    platform: linux/amd64
    layers:
      - name: os
        debs:
          packages: [%[3]s]
`, suite, url, strings.Join(packages, ", "))
}

// lineOf is the 1-based line of the first line of text containing s.
func lineOf(t testing.TB, text, s string) int {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%q not in\n%s", s, text)
	return 0
}

// expectBuildError builds every image of dir/berth.yaml twice, into an OCI
// layout and into a docker archive, expecting both to fail with an error
// that contains every want; dir must hold the same files afterwards (no
// output, no berth.lock, no temp files). It returns the error message.
func expectBuildError(t *testing.T, env *buildEnv, dir string, wants ...string) string {
	t.Helper()
	before := listTree(t, dir)
	var msg string
	for _, out := range [][]string{
		{"--oci-layout", filepath.Join(dir, "out")},
		{"--docker-archive", filepath.Join(dir, "out.tar")},
	} {
		// Relative -f, as a user types it: positions then read berth.yaml:L:C.
		r := runBerthIn(t, env, dir, append([]string{"build", "-f", "berth.yaml"}, out...)...)
		if r.Err == nil {
			t.Fatalf("berth build %v succeeded, want an error\nstdout:\n%s", out, r.Stdout)
		}
		msg = strings.TrimSpace(r.Stderr)
		for _, w := range wants {
			if !strings.Contains(msg, w) {
				t.Errorf("berth build %v: error does not contain %q:\n%s", out, w, msg)
			}
		}
		if strings.Contains(msg, "panic") || strings.Contains(msg, "goroutine ") {
			t.Errorf("berth build %v panicked:\n%s", out, msg)
		}
		if after := listTree(t, dir); !slices.Equal(after, before) {
			t.Errorf("berth build %v failed but left files behind: before %v, after %v", out, before, after)
		}
	}
	t.Logf("error: %s", msg)
	return msg
}

// runBerthIn runs berth with dir as its working directory (without
// changing this parallel test process's own).
func runBerthIn(t testing.TB, env *buildEnv, dir string, args ...string) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, suite.berthBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env.env()...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("$ (cd %s) berth %s  (%v)", dir, strings.Join(args, " "), exitStatus(err))
	return cmdResult{Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
}

// listTree lists every path below dir, sorted.
func listTree(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// tinyPackage is one entry of a hand-written Packages index.
type tinyPackage struct {
	Name, Version, Depends string
}

// writeTinyRepo writes an unsigned repository (Release + Packages) of
// packages whose .deb files do not exist: enough for resolution, which is
// where an unsatisfiable dependency must fail.
func writeTinyRepo(t testing.TB, dir, suiteName string, pkgs []tinyPackage) {
	t.Helper()
	var b strings.Builder
	for _, p := range pkgs {
		fmt.Fprintf(&b, "Package: %s\nVersion: %s\nArchitecture: amd64\n", p.Name, p.Version)
		if p.Depends != "" {
			fmt.Fprintf(&b, "Depends: %s\n", p.Depends)
		}
		fmt.Fprintf(&b, "Filename: pool/main/%s_%s_amd64.deb\nSize: 1000\nSHA256: %x\nDescription: berth e2e test package\n\n",
			p.Name, p.Version, sha256.Sum256([]byte(p.Name)))
	}
	packages := b.String()
	rel := "main/binary-amd64/Packages"
	writeFile(t, dir, "dists/"+suiteName+"/"+rel, packages)
	writeFile(t, dir, "dists/"+suiteName+"/Release", fmt.Sprintf(
		"Origin: berth-e2e\nSuite: %s\nCodename: %s\nArchitectures: amd64\nComponents: main\nDate: Mon, 01 Jan 2024 00:00:00 UTC\nSHA256:\n %x %d %s\n",
		suiteName, suiteName, sha256.Sum256([]byte(packages)), len(packages), rel))
}
