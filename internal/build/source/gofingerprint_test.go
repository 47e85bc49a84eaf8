package source

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestGoKeyMemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	dir := t.TempDir()
	cache := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		// Older than the racy window, so the fingerprint is trusted.
		past := time.Now().Add(-time.Minute)
		os.Chtimes(p, past, past)
	}
	write("go.mod", "module example.com/m\n\ngo 1.22\n")
	write("main.go", "package main\n\nfunc main() { println(1) }\n")
	g, err := NewGo(GoOptions{Dir: dir, Package: ".", Output: "/app/m", StatCache: cache})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k1, err := g.Key(ctx)
	if err != nil {
		t.Fatal(err)
	}
	memos, _ := filepath.Glob(filepath.Join(cache, "gokey-*.json"))
	if len(memos) != 1 {
		t.Fatalf("memo files: %v", memos)
	}
	start := time.Now()
	k2, err := g.Key(ctx)
	if err != nil || k2 != k1 {
		t.Fatalf("memoised key %q, %v; want %q", k2, err, k1)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Logf("memoised Key took %s (expected a few ms)", d)
	}
	// A changed source (same size, different content and mtime) changes
	// the key.
	write("main.go", "package main\n\nfunc main() { println(2) }\n")
	// A Go value builds once; every build makes new sources.
	g, _ = NewGo(GoOptions{Dir: dir, Package: ".", Output: "/app/m", StatCache: cache})
	k3, err := g.Key(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if k3 == k1 {
		t.Fatal("key unchanged after main.go changed")
	}
	// A file the build does not read (the module embeds nothing) leaves
	// the memo valid: no link.
	write("index.html", "<h1>hi</h1>")
	g, _ = NewGo(GoOptions{Dir: dir, Package: ".", Output: "/app/m", StatCache: cache})
	if k, err := g.Key(ctx); err != nil || k != k3 || g.binary != nil {
		t.Fatalf("after a static file changed: key %q (want %q), err %v, built=%v", k, k3, err, g.binary != nil)
	}
	// Without a memo the key is the same as with one.
	plain, _ := NewGo(GoOptions{Dir: dir, Package: ".", Output: "/app/m"})
	if k4, _ := plain.Key(ctx); k4 != k3 {
		t.Fatalf("memo changed the key: %q vs %q", k3, k4)
	}
}
