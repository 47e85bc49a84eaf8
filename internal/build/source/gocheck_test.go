package source

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoLdflagsCannotWriteHostFiles: the linker's -o, -cpuprofile and
// -memprofile wrote files on the build host (an attacker-compiled binary,
// mode 0755, for -o). NewGo refuses them before anything runs.
func TestGoLdflagsCannotWriteHostFiles(t *testing.T) {
	dir := goModule(t)
	victim := filepath.Join(t.TempDir(), "pwned")
	for _, ld := range []string{"-o " + victim, "-cpuprofile=" + victim, "-memprofile " + victim, "-s -toolexec " + victim, "-tmpdir " + victim} {
		g, err := NewGo(GoOptions{Dir: dir, Package: "./cmd/web", Output: "/app/web", Ldflags: ld})
		if err == nil {
			_, _ = g.Tree(context.Background())
			t.Errorf("ldflags %q accepted", ld)
		} else if !strings.Contains(err.Error(), "ldflags") || !strings.Contains(err.Error(), "is not allowed") {
			t.Errorf("ldflags %q: error %v does not name the flag", ld, err)
		}
		if _, err := os.Lstat(victim); err == nil {
			t.Fatalf("ldflags %q wrote %s on the host", ld, victim)
		}
	}
	for _, pkg := range []string{"/etc", "../x", "-toolexec=/bin/true"} {
		if _, err := NewGo(GoOptions{Dir: dir, Package: pkg, Output: "/app/web"}); err == nil {
			t.Errorf("package %q accepted", pkg)
		}
	}
}

// TestGoSymlinkEscapes: nothing the go command compiles may come from
// outside the context through a symlink, a go.mod above the context or a
// replace directive.
func TestGoSymlinkEscapes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "evil", "main.go"), "package main\n\nfunc main() {}\n", 0o644)
	writeFile(t, filepath.Join(outside, "greet.go"), "package greet\n\nconst Hello = \"stolen\"\n", 0o644)

	t.Run("package dir", func(t *testing.T) {
		dir := goModule(t)
		os.Symlink(filepath.Join(outside, "evil"), filepath.Join(dir, "cmd", "evil"))
		_, err := NewGo(GoOptions{Context: dir, Dir: dir, Package: "./cmd/evil", Output: "/app"})
		if err == nil || !strings.Contains(err.Error(), "outside the build context") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("module dir", func(t *testing.T) {
		ctxDir := t.TempDir()
		os.Symlink(goModule(t), filepath.Join(ctxDir, "mod"))
		_, err := NewGo(GoOptions{Context: ctxDir, Dir: filepath.Join(ctxDir, "mod"), Package: "./cmd/web", Output: "/app"})
		if err == nil || !strings.Contains(err.Error(), "outside the build context") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("source file", func(t *testing.T) {
		dir := goModule(t)
		os.Remove(filepath.Join(dir, "internal/greet/greet.go"))
		os.Symlink(filepath.Join(outside, "greet.go"), filepath.Join(dir, "internal/greet/greet.go"))
		g, err := NewGo(GoOptions{Context: dir, Dir: dir, Package: "./cmd/web", Output: "/app"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.Key(context.Background())
		if err == nil || !strings.Contains(err.Error(), "greet.go resolves to "+filepath.Join(outside, "greet.go")) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("go.mod above the context", func(t *testing.T) {
		dir := goModule(t)
		ctxDir := filepath.Join(dir, "cmd")
		g, err := NewGo(GoOptions{Context: ctxDir, Dir: ctxDir, Package: "./web", Output: "/app"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.Key(context.Background())
		if err == nil || !strings.Contains(err.Error(), "outside the build context "+ctxDir) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("replace", func(t *testing.T) {
		dir := goModule(t)
		lib := t.TempDir()
		writeFile(t, filepath.Join(lib, "go.mod"), "module example.com/lib\n\ngo 1.22\n", 0o644)
		writeFile(t, filepath.Join(lib, "lib.go"), "package lib\n\nconst X = 1\n", 0o644)
		writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/web\n\ngo 1.22\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/lib => "+lib+"\n", 0o644)
		writeFile(t, filepath.Join(dir, "cmd/web/lib.go"), "package main\n\nimport _ \"example.com/lib\"\n", 0o644)
		g, err := NewGo(GoOptions{Context: dir, Dir: dir, Package: "./cmd/web", Output: "/app"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.Key(context.Background())
		if err == nil || !strings.Contains(err.Error(), "package example.com/lib") || !strings.Contains(err.Error(), "outside the build context") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("inside is fine", func(t *testing.T) {
		dir := goModule(t)
		g, err := NewGo(GoOptions{Context: dir, Dir: dir, Package: "./cmd/web", Output: "/app"})
		if err != nil {
			t.Fatal(err)
		}
		key(t, g)
	})
}

// TestContextRootContainsAll: a context of "/" built the prefix "//" and
// matched nothing, so `context: /` (allowed with --context /) failed.
func TestContextRootContainsAll(t *testing.T) {
	c, err := openContext("/")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "f"), "x", 0o644)
	real, _, err := c.resolve(strings.TrimPrefix(filepath.Join(dir, "f"), "/"))
	if err != nil || real != filepath.Join(dir, "f") {
		t.Fatalf("resolve under context /: %q, %v", real, err)
	}
}

// TestOpenInContext: .dockerignore and friends must not be symlinks leading
// out of the context (their lines show up in pattern errors).
func TestOpenInContext(t *testing.T) {
	ctxDir, outside := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(outside, "secret"), "[", 0o600)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(ctxDir, ".dockerignore"))
	if _, err := OpenInContext(ctxDir, ".dockerignore"); err == nil || !strings.Contains(err.Error(), "outside the build context") {
		t.Fatalf("err = %v", err)
	}
	writeFile(t, filepath.Join(ctxDir, ".berthignore"), "*.log\n", 0o644)
	f, err := OpenInContext(ctxDir, ".berthignore")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}
