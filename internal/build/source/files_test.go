package source

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask-proof
		t.Fatal(err)
	}
}

func readEntry(t *testing.T, s Source, p string) (string, int64, int, int, byte) {
	t.Helper()
	tr, err := s.Tree(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e, ok := tr.Get(p)
	if !ok {
		t.Fatalf("no entry %q", p)
	}
	var body []byte
	if e.Open != nil {
		rc, err := e.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(rc)
		rc.Close()
	}
	return string(body), e.Mode, e.UID, e.GID, e.Type
}

func ptr[T any](v T) *T { return &v }

func key(t *testing.T, s Source) string {
	t.Helper()
	k, err := s.Key(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func fixture(t *testing.T) string {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "static/index.html"), "<h1>hi</h1>", 0o664)
	writeFile(t, filepath.Join(dir, "static/js/app.js"), "alert(1)", 0o600)
	writeFile(t, filepath.Join(dir, "static/js/app.js.map"), "{}", 0o600)
	writeFile(t, filepath.Join(dir, "static/keep.map"), "{}", 0o600)
	writeFile(t, filepath.Join(dir, "bin/tool"), "#!/bin/sh\n", 0o775)
	writeFile(t, filepath.Join(dir, "app.conf.tmpl"), "version={{ .VERSION }}\n", 0o644)
	os.Symlink("index.html", filepath.Join(dir, "static/home.html"))
	return dir
}

func TestFilesCopy(t *testing.T) {
	dir := fixture(t)
	s, err := NewFiles(FilesOptions{
		Context: dir,
		Items: []FileItem{
			{Src: "static/", Dest: "/app/static/", Mode: ptr(int64(0o644)), UID: ptr(65532), GID: ptr(65532)},
			{Src: "bin/tool", Dest: "/usr/local/bin/"},
			{Src: "static/index.html", Dest: "/srv/index.html"},
			{Src: "app.conf.tmpl", Dest: "/etc/app.conf", Template: true},
		},
		Vars:   map[string]string{"VERSION": "1.2.3"},
		Ignore: []string{"# maps", "**/*.map", "!static/keep.map"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := s.Tree(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range tr.Entries() {
		paths = append(paths, e.Path)
	}
	want := "app app/static app/static/home.html app/static/index.html app/static/js app/static/js/app.js app/static/keep.map etc etc/app.conf srv srv/index.html usr usr/local usr/local/bin usr/local/bin/tool"
	if got := strings.Join(paths, " "); got != want {
		t.Fatalf("entries\n got %s\nwant %s", got, want)
	}
	if body, mode, uid, gid, _ := readEntry(t, s, "app/static/js/app.js"); body != "alert(1)" || mode != 0o644 || uid != 65532 || gid != 65532 {
		t.Fatalf("app.js: %q %o %d:%d", body, mode, uid, gid)
	}
	if _, mode, uid, _, typ := readEntry(t, s, "app/static/js"); typ != tar.TypeDir || mode != 0o755 || uid != 65532 {
		t.Fatalf("js dir: %o %d %c", mode, uid, typ)
	}
	if _, mode, uid, _, _ := readEntry(t, s, "usr/local/bin/tool"); mode != 0o755 || uid != 0 {
		t.Fatalf("tool: %o %d", mode, uid)
	}
	if _, mode, _, _, _ := readEntry(t, s, "srv/index.html"); mode != 0o644 { // 0664 normalised
		t.Fatalf("index.html mode %o", mode)
	}
	if e, _ := tr.Get("app/static/home.html"); e.Type != tar.TypeSymlink || e.Linkname != "index.html" {
		t.Fatalf("symlink: %+v", e)
	}
	if body, _, _, _, _ := readEntry(t, s, "etc/app.conf"); body != "version=1.2.3\n" {
		t.Fatalf("template: %q", body)
	}
}

func TestFilesKey(t *testing.T) {
	dir := fixture(t)
	cacheDir := t.TempDir()
	opts := func() FilesOptions {
		return FilesOptions{Context: dir, StatCache: cacheDir, Vars: map[string]string{"VERSION": "1"},
			Items: []FileItem{{Src: "static", Dest: "/app/"}, {Src: "app.conf.tmpl", Dest: "/etc/app.conf", Template: true}}}
	}
	mk := func(o FilesOptions) string {
		s, err := NewFiles(o)
		if err != nil {
			t.Fatal(err)
		}
		return key(t, s)
	}
	k1 := mk(opts())
	if k2 := mk(opts()); k2 != k1 {
		t.Fatal("key not stable")
	}
	// A context copied elsewhere gives the same key.
	other := t.TempDir()
	if err := os.CopyFS(other, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	o := opts()
	o.Context = other
	if mk(o) != k1 {
		t.Fatal("key depends on the context's location")
	}
	o = opts()
	o.Vars = map[string]string{"VERSION": "2"}
	if mk(o) == k1 {
		t.Fatal("vars not in the key of a template item")
	}
	o = opts()
	o.Items[0].Mode = ptr(int64(0o600))
	if mk(o) == k1 {
		t.Fatal("mode not in the key")
	}
	// Same size, same mtime second, new content: the stat cache must
	// notice (inode/ctime/ns mtime), so the key changes.
	writeFile(t, filepath.Join(dir, "static/index.html"), "<h1>ho</h1>", 0o664)
	if mk(opts()) == k1 {
		t.Fatal("content change not in the key")
	}
	// Ignored files do not affect the key.
	o = opts()
	o.Ignore = []string{"static/js"}
	k3 := mk(o)
	writeFile(t, filepath.Join(dir, "static/js/app.js"), "changed", 0o600)
	if mk(o) != k3 {
		t.Fatal("ignored file changed the key")
	}
}

func TestFilesStatCacheAvoidsReads(t *testing.T) {
	dir := fixture(t)
	cacheDir := t.TempDir()
	o := FilesOptions{Context: dir, StatCache: cacheDir, Items: []FileItem{{Src: "static", Dest: "/app/"}}}
	counted := func() (*Files, *int) {
		s, err := NewFiles(o)
		if err != nil {
			t.Fatal(err)
		}
		n := new(int)
		s.stat.racyWindow = 0 // the fixture was just written
		s.stat.hashFile = func(p string) (string, error) { *n++; return hashFile(p) }
		return s, n
	}
	s1, cold := counted()
	k1 := key(t, s1)
	s2, warm := counted()
	if key(t, s2) != k1 {
		t.Fatal("warm key differs")
	}
	if *cold != 4 || *warm != 0 {
		t.Fatalf("file reads cold %d warm %d, want 4 and 0", *cold, *warm)
	}
	// Fresh files are not remembered (racily clean): re-read next time.
	s3, _ := NewFiles(o)
	writeFile(t, filepath.Join(dir, "static/index.html"), "<h1>ho</h1>", 0o664)
	key(t, s3)
	s4, n4 := counted()
	key(t, s4)
	if *n4 != 1 {
		t.Fatalf("reads after a recent change %d, want 1", *n4)
	}
}

func TestFilesErrors(t *testing.T) {
	dir := fixture(t)
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "secret"), "s", 0o600)
	os.Symlink(outside, filepath.Join(dir, "escape"))
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "secret-link"))
	writeFile(t, filepath.Join(dir, "bad.tmpl"), "line1\n{{ .MISSING }}\n", 0o644)
	writeFile(t, filepath.Join(dir, "syntax.tmpl"), "a\nb\n{{ if }}\n", 0o644)
	cases := []struct {
		item FileItem
		want string
	}{
		{FileItem{Src: "../x", Dest: "/x"}, "escapes the build context"},
		{FileItem{Src: "/etc/passwd", Dest: "/x"}, "relative to the build context"},
		{FileItem{Src: "escape/secret", Dest: "/x"}, "outside the build context"},
		{FileItem{Src: "secret-link", Dest: "/x"}, "outside the build context"},
		{FileItem{Src: "nope", Dest: "/x"}, "not found"},
		{FileItem{Src: "static/keep.map", Dest: "/x"}, "excluded by the ignore file"},
		{FileItem{Src: "bad.tmpl", Dest: "/x", Template: true}, "bad.tmpl:2"},
		{FileItem{Src: "syntax.tmpl", Dest: "/x", Template: true}, "syntax.tmpl:3"},
		{FileItem{Src: "bin/tool", Dest: "/../x"}, "'..'"},
	}
	for _, c := range cases {
		s, err := NewFiles(FilesOptions{Context: dir, Items: []FileItem{c.item}, Ignore: []string{"*/*.map"}})
		if err == nil {
			_, err = s.Tree(context.Background())
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.item, err, c.want)
		}
	}
	if _, err := NewFiles(FilesOptions{Context: dir, Items: []FileItem{{Src: "bin", Dest: "/x", Mode: ptr(int64(0o10000))}}}); err == nil {
		t.Error("mode 010000 accepted")
	}
}

// BenchmarkFilesKey1000 measures Key over 1000 files of 4 KiB: "cold" hashes
// every file, "warm" is the no-op rebuild served by the stat cache.
func BenchmarkFilesKey1000(b *testing.B) {
	dir := b.TempDir()
	content := strings.Repeat("x", 4096)
	for i := 0; i < 1000; i++ {
		p := filepath.Join(dir, "src", string(rune('a'+i%10)), strings.Repeat("f", 1+i%5)+string(rune('a'+i/10%26))+string(rune('a'+i/260)))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content+p), 0o644)
	}
	o := FilesOptions{Context: dir, Items: []FileItem{{Src: "src", Dest: "/app/"}}}
	run := func(n int, cacheDir func() string) {
		for i := 0; i < n; i++ {
			o.StatCache = cacheDir()
			s, err := NewFiles(o)
			if err != nil {
				b.Fatal(err)
			}
			s.stat.racyWindow = 0 // the files were just written
			if _, err := s.Key(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("cold", func(b *testing.B) { run(b.N, func() string { return "" }) })
	warm := b.TempDir()
	run(1, func() string { return warm }) // prime
	b.Run("warm", func(b *testing.B) { run(b.N, func() string { return warm }) })
}
