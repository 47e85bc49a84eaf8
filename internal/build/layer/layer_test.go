package layer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
)

func bytesEntry(p string, content string, mode int64) Entry {
	return Entry{Path: p, Type: tar.TypeReg, Mode: mode, Size: int64(len(content)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil }}
}

func mustAdd(t *testing.T, tr *Tree, e Entry) {
	t.Helper()
	if err := tr.Add(e); err != nil {
		t.Fatal(err)
	}
}

// sampleTree is built in a shuffled order to show insertion order does not
// matter.
func sampleTree(t *testing.T, seed int64) *Tree {
	t.Helper()
	entries := []Entry{
		bytesEntry("usr/bin/app", "#!/bin/sh\necho hi\n", 0o755),
		bytesEntry("etc/app.conf", "port=8080\n", 0o644),
		{Path: "usr/local/bin/app", Type: tar.TypeSymlink, Linkname: "/usr/bin/app", Mode: 0o777},
		{Path: "data", Type: tar.TypeDir, Mode: 0o750, UID: 65532, GID: 65532},
		{Path: "usr/bin/app-link", Type: tar.TypeLink, Linkname: "usr/bin/app"},
		bytesEntry("a-b", "x", 0o600),
		bytesEntry("empty", "", 0o644),
	}
	r := rand.New(rand.NewSource(seed))
	r.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
	tr := NewTree()
	for _, e := range entries {
		mustAdd(t, tr, e)
	}
	return tr
}

func TestBuildReproducible(t *testing.T) {
	mtime := time.Unix(1700000000, 0)
	var first Built
	for i, seed := range []int64{1, 2, 3} {
		dir := t.TempDir()
		// A different wall clock and umask-independent inputs: only the
		// tree and Options may influence the bytes.
		b, err := Build(sampleTree(t, seed), dir, Options{MTime: mtime.Add(time.Duration(i) * time.Millisecond)})
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(b.Path) != dir {
			t.Fatalf("blob %s not in %s", b.Path, dir)
		}
		if i == 0 {
			first = b
			continue
		}
		if b.Digest != first.Digest || b.DiffID != first.DiffID || b.Size != first.Size {
			t.Fatalf("build %d differs: %+v vs %+v", i, b, first)
		}
	}
	// The recorded digests match the bytes on disk.
	blob, err := os.ReadFile(first.Path)
	if err != nil {
		t.Fatal(err)
	}
	if digest.FromBytes(blob) != first.Digest || int64(len(blob)) != first.Size {
		t.Fatal("Digest/Size do not match the blob")
	}
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Fatalf("gzip header carries name %q / mtime %v", zr.Name, zr.ModTime)
	}
	raw, _ := io.ReadAll(zr)
	if digest.FromBytes(raw) != first.DiffID || int64(len(raw)) != first.UncompressedSize {
		t.Fatal("DiffID/UncompressedSize do not match the tar")
	}
	// A different mtime changes the digest.
	other, err := Build(sampleTree(t, 1), t.TempDir(), Options{MTime: mtime.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if other.DiffID == first.DiffID {
		t.Fatal("mtime did not affect the layer")
	}
}

func TestBuildTarContents(t *testing.T) {
	mtime := time.Unix(1700000000, 0)
	b, err := Build(sampleTree(t, 7), t.TempDir(), Options{MTime: mtime})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(b.Path)
	defer f.Close()
	zr, _ := gzip.NewReader(f)
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(mtime) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: times %v %v %v", h.Name, h.ModTime, h.AccessTime, h.ChangeTime)
		}
		if h.Uname != "" || h.Gname != "" || h.Devmajor != 0 || h.Devminor != 0 {
			t.Errorf("%s: uname/gname/dev set", h.Name)
		}
		switch h.Name {
		case "data/":
			if h.Typeflag != tar.TypeDir || h.Mode != 0o750 || h.Uid != 65532 {
				t.Errorf("data/: %+v", h)
			}
		case "usr/bin/app-link":
			if h.Typeflag != tar.TypeLink || h.Linkname != "usr/bin/app" {
				t.Errorf("hardlink: %+v", h)
			}
		case "usr/bin/app":
			body, _ := io.ReadAll(tr)
			if string(body) != "#!/bin/sh\necho hi\n" || h.Mode != 0o755 {
				t.Errorf("app: %q %o", body, h.Mode)
			}
		}
	}
	want := "a-b data/ empty etc/ etc/app.conf usr/ usr/bin/ usr/bin/app usr/bin/app-link usr/local/ usr/local/bin/ usr/local/bin/app"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("order:\n got %s\nwant %s", got, want)
	}
	if b.Files != 4 || b.Inodes != 12 {
		t.Fatalf("files/inodes = %d/%d, want 4/12", b.Files, b.Inodes)
	}
}

func TestHardlinkCanonicalisation(t *testing.T) {
	// The source calls z/orig the original; the tar must carry the content
	// at the member that sorts first, whatever the source said.
	build := func(orig, link string) Built {
		tr := NewTree()
		mustAdd(t, tr, bytesEntry(orig, "same", 0o644))
		mustAdd(t, tr, Entry{Path: link, Type: tar.TypeLink, Linkname: orig})
		b, err := Build(tr, t.TempDir(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := build("z/orig", "a/link"), build("a/link", "z/orig")
	if a.DiffID != b.DiffID {
		t.Fatal("hardlink groups are not canonical")
	}
	tr := NewTree()
	mustAdd(t, tr, Entry{Path: "x", Type: tar.TypeLink, Linkname: "missing"})
	if _, err := Build(tr, t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("dangling hardlink: %v", err)
	}
}

func TestTreeValidation(t *testing.T) {
	tr := NewTree()
	for _, p := range []string{"", "/etc/passwd", "../x", "a/../b", "a//b", "a/", "./a"} {
		if err := tr.Add(bytesEntry(p, "", 0o644)); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
	mustAdd(t, tr, Entry{Path: "bin", Type: tar.TypeSymlink, Linkname: "usr/bin", Mode: 0o777})
	err := tr.Add(bytesEntry("bin/sh", "", 0o755))
	if err == nil || !strings.Contains(err.Error(), `"bin/sh"`) || !strings.Contains(err.Error(), `"bin"`) {
		t.Fatalf("entry under a symlink: %v", err)
	}
	mustAdd(t, tr, bytesEntry("file", "x", 0o644))
	if err := tr.Add(bytesEntry("file/sub", "", 0o644)); err == nil || !strings.Contains(err.Error(), `"file"`) {
		t.Fatalf("entry under a file: %v", err)
	}
	mustAdd(t, tr, bytesEntry("dir/child", "x", 0o644))
	if err := tr.Add(bytesEntry("dir", "", 0o644)); err == nil || !strings.Contains(err.Error(), "dir/child") {
		t.Fatalf("dir replaced by file: %v", err)
	}
	if err := tr.Add(Entry{Path: "m", Type: tar.TypeReg, Mode: 0o100644}); err == nil {
		t.Fatal("file-type mode bits accepted")
	}
	// Missing parents are created 0755 0:0; last write wins.
	mustAdd(t, tr, bytesEntry("dir/child", "yy", 0o600))
	if e, _ := tr.Get("dir"); e.Type != tar.TypeDir || e.Mode != 0o755 {
		t.Fatalf("implicit parent: %+v", e)
	}
	if e, _ := tr.Get("dir/child"); e.Size != 2 || e.Mode != 0o600 {
		t.Fatalf("last write: %+v", e)
	}
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{"/app/web": "app/web", "app/static/": "app/static", "/a//b/./c": "a/b/c"} {
		if got, err := CleanPath(in); err != nil || got != want {
			t.Errorf("CleanPath(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"/", "", "/../etc", "a/../../b"} {
		if _, err := CleanPath(in); err == nil {
			t.Errorf("CleanPath(%q) accepted", in)
		}
	}
}

func TestBuildErrorLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	tr := NewTree()
	mustAdd(t, tr, bytesEntry("a", strings.Repeat("x", 1<<20), 0o644))
	// Claims more bytes than it yields: a file that shrank while building.
	mustAdd(t, tr, Entry{Path: "b", Type: tar.TypeReg, Mode: 0o644, Size: 100,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("short")), nil }})
	if _, err := Build(tr, dir, Options{}); err == nil || !strings.Contains(err.Error(), `"b"`) {
		t.Fatalf("short content: %v", err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	if _, err := Build(NewTree(), dir, Options{GzipLevel: 11}); err == nil {
		t.Fatal("gzip level 11 accepted")
	}
}

// benchTree is ~50 MB of mixed data: compressible text, incompressible random
// bytes, many small files.
func benchTree(b *testing.B) (*Tree, int64) {
	r := rand.New(rand.NewSource(1))
	tr := NewTree()
	var total int64
	add := func(p string, data []byte) {
		total += int64(len(data))
		if err := tr.Add(Entry{Path: p, Type: tar.TypeReg, Mode: 0o644, Size: int64(len(data)),
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}); err != nil {
			b.Fatal(err)
		}
	}
	text := bytes.Repeat([]byte("func main() { fmt.Println(\"hello, world\") } // comment text\n"), 4<<20/60)
	for i := 0; i < 5; i++ {
		add("text/big"+string(rune('a'+i)), text)
	}
	rnd := make([]byte, 20<<20)
	r.Read(rnd)
	add("bin/random", rnd)
	for i := 0; i < 2000; i++ {
		add("small/d"+strings.Repeat("d", i%7)+"/f"+string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676)), text[:5000+i%3000])
	}
	return tr, total
}

func BenchmarkBuild50MB(b *testing.B) {
	tr, total := benchTree(b)
	dir := b.TempDir()
	b.SetBytes(total)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		built, err := Build(tr, dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		os.Remove(built.Path)
	}
}

// BenchmarkBuildGOROOT builds ~50 MB of real files (sources, binaries,
// testdata) from the Go installation, read from disk as a files layer would.
func BenchmarkBuildGOROOT(b *testing.B) {
	root := runtime.GOROOT()
	tr := NewTree()
	var total int64
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || total > 50<<20 || !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if tr.Add(Entry{Path: filepath.ToSlash(rel), Type: tar.TypeReg, Mode: 0o644, Size: fi.Size(),
			Open: func() (io.ReadCloser, error) { return os.Open(p) }}) == nil {
			total += fi.Size()
		}
		return nil
	})
	if total < 10<<20 {
		b.Skip("GOROOT too small")
	}
	dir := b.TempDir()
	b.SetBytes(total)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		built, err := Build(tr, dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(built.Size)/float64(total)*100, "%size")
		os.Remove(built.Path)
	}
}
