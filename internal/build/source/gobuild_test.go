package source

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func goModule(t *testing.T) string {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/web\n\ngo 1.22\n", 0o644)
	writeFile(t, filepath.Join(dir, "cmd/web/main.go"), `package main

import (
	"fmt"

	"example.com/web/internal/greet"
)

var version = "dev"

func main() { fmt.Println(greet.Hello, version) }
`, 0o644)
	writeFile(t, filepath.Join(dir, "internal/greet/greet.go"), "package greet\n\nconst Hello = \"hello\"\n", 0o644)
	return dir
}

func TestGoReproducibleAcrossDirs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build")
	}
	a, b := goModule(t), goModule(t)
	var keys [2]string
	var bins [2][]byte
	for i, dir := range []string{a, b} {
		g, err := NewGo(GoOptions{Dir: dir, Package: "./cmd/web", Output: "/app/web", Ldflags: "-s -w -X main.version=1.2.3"})
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = key(t, g)
		tr, err := g.Tree(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		e, ok := tr.Get("app/web")
		if !ok || e.Mode != 0o755 || e.UID != 0 || e.Size == 0 {
			t.Fatalf("binary entry %+v", e)
		}
		bins[i] = g.binary
	}
	if keys[0] != keys[1] || string(bins[0]) != string(bins[1]) {
		t.Fatal("the same module in two directories built different binaries")
	}
	if strings.Contains(string(bins[0]), a) {
		t.Fatal("binary contains the build directory")
	}

	opts := GoOptions{Dir: a, Package: "./cmd/web", Output: "/app/web", Ldflags: "-s -w -X main.version=1.2.3"}
	// A rebuild gives the same key (the memo that spares the link is
	// tested in TestGoKeyMemo).
	g, _ := NewGo(opts)
	if key(t, g) != keys[0] {
		t.Fatal("key changed on a no-op rebuild")
	}

	// Every input changes the key: ldflags, output, a dependency's source.
	o := opts
	o.Ldflags = "-s -w -X main.version=1.2.4"
	g, _ = NewGo(o)
	if key(t, g) == keys[0] {
		t.Fatal("ldflags not reflected in the key")
	}
	o = opts
	o.Output = "/bin/web"
	g, _ = NewGo(o)
	if key(t, g) == keys[0] {
		t.Fatal("output not reflected in the key")
	}
	writeFile(t, filepath.Join(a, "internal/greet/greet.go"), "package greet\n\nconst Hello = \"howdy\"\n", 0o644)
	g, _ = NewGo(opts)
	if key(t, g) == keys[0] {
		t.Fatal("a dependency's source is not reflected in the key")
	}
}

func TestGoErrors(t *testing.T) {
	if _, err := NewGo(GoOptions{Dir: ".", Package: "./x", Output: "/"}); err == nil {
		t.Fatal("output / accepted")
	}
	if _, err := NewGo(GoOptions{Dir: ".", Package: "./x", Output: "/a", Tags: []string{"a b"}}); err == nil {
		t.Fatal("bad tag accepted")
	}
	if testing.Short() {
		return
	}
	dir := goModule(t)
	writeFile(t, filepath.Join(dir, "cmd/web/main.go"), "package main\nfunc main() { undefined() }\n", 0o644)
	g, _ := NewGo(GoOptions{Dir: dir, Package: "./cmd/web", Output: "/app/web"})
	if _, err := g.Key(context.Background()); err == nil || !strings.Contains(err.Error(), "undefined") {
		t.Fatalf("compile error not reported by Key: %v", err)
	}
	if _, err := g.Tree(context.Background()); err == nil || !strings.Contains(err.Error(), "undefined") {
		t.Fatalf("compile error not reported by Tree: %v", err)
	}
	g, _ = NewGo(GoOptions{Dir: dir, Package: "./internal/greet", Output: "/app/web"})
	if _, err := g.Key(context.Background()); err == nil || !strings.Contains(err.Error(), "not a main package") {
		t.Fatalf("library package accepted: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}
