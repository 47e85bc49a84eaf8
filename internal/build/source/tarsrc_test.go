package source

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/berth-dev/berth/internal/build/layer"
)

// rootfsTar is a small archive in a deliberately unsorted order, with the
// usual "./" prefixes, a hardlink, a device node and a symlink.
func rootfsTar(t *testing.T) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body string) {
		h.Size = int64(len(body))
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		h.ModTime = time.Now()
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	add(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	add(&tar.Header{Name: "./usr/bin/su", Typeflag: tar.TypeReg, Mode: 0o4755, Uid: 0}, "su binary")
	add(&tar.Header{Name: "./etc/", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	add(&tar.Header{Name: "./etc/hostname", Typeflag: tar.TypeReg, Mode: 0o644, Uid: 100, Gid: 101, Uname: "someone"}, "box\n")
	add(&tar.Header{Name: "./bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755}, strings.Repeat("B", 5000))
	add(&tar.Header{Name: "./bin/sh", Typeflag: tar.TypeLink, Linkname: "./bin/busybox"}, "")
	add(&tar.Header{Name: "./dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3}, "")
	add(&tar.Header{Name: "./usr/sbin", Typeflag: tar.TypeSymlink, Linkname: "bin"}, "")
	tw.Close()
	return buf.Bytes()
}

func TestTarball(t *testing.T) {
	dir := t.TempDir()
	raw := rootfsTar(t)
	var gz, zs bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	enc, _ := zstd.NewWriter(&zs)
	enc.Write(raw)
	enc.Close()
	os.WriteFile(filepath.Join(dir, "rootfs.tar"), raw, 0o644)
	os.WriteFile(filepath.Join(dir, "rootfs.tgz"), gz.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "rootfs.tar.zst"), zs.Bytes(), 0o644)

	var digests []string
	for _, name := range []string{"rootfs.tar", "rootfs.tgz", "rootfs.tar.zst"} {
		var notes []string
		s, err := NewTar(TarOptions{Context: dir, Src: name, Warn: func(m string) { notes = append(notes, m) }})
		if err != nil {
			t.Fatal(err)
		}
		tr, err := s.Tree(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(notes) != 1 || !strings.Contains(notes[0], "dev/null") {
			t.Errorf("%s: notes %q", name, notes)
		}
		if body, mode, uid, gid, _ := readEntry(t, s, "etc/hostname"); body != "box\n" || mode != 0o644 || uid != 100 || gid != 101 {
			t.Errorf("%s: hostname %q %o %d:%d", name, body, mode, uid, gid)
		}
		if _, mode, _, _, _ := readEntry(t, s, "usr/bin/su"); mode != 0o4755 {
			t.Errorf("%s: setuid lost: %o", name, mode)
		}
		if e, _ := tr.Get("bin/sh"); e.Type != tar.TypeLink || e.Linkname != "bin/busybox" {
			t.Errorf("%s: hardlink %+v", name, e)
		}
		if e, _ := tr.Get("usr/sbin"); e.Type != tar.TypeSymlink || e.Linkname != "bin" {
			t.Errorf("%s: symlink %+v", name, e)
		}
		b, err := layer.Build(tr, t.TempDir(), layer.Options{})
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, b.DiffID.String())
	}
	if digests[0] != digests[1] || digests[1] != digests[2] {
		t.Fatalf("compression changed the layer: %v", digests)
	}

	// Key: the bytes of the tarball.
	a, _ := NewTar(TarOptions{Context: dir, Src: "rootfs.tar"})
	b, _ := NewTar(TarOptions{Context: dir, Src: "rootfs.tgz"})
	if key(t, a) == key(t, b) {
		t.Fatal("different tarballs, same key")
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "rootfs.tar"), raw, 0o600)
	c, _ := NewTar(TarOptions{Context: other, Src: "rootfs.tar"})
	if key(t, a) != key(t, c) {
		t.Fatal("same tarball elsewhere, different key")
	}
	if _, err := NewTar(TarOptions{Context: dir, Src: "../rootfs.tar"}); err == nil {
		t.Fatal("escaping src accepted")
	}
}

func TestTarDirectory(t *testing.T) {
	mk := func(stamp time.Time) string {
		ctx := t.TempDir()
		root := filepath.Join(ctx, "rootfs")
		writeFile(t, filepath.Join(root, "bin/busybox"), "BUSYBOX", 0o755)
		os.Link(filepath.Join(root, "bin/busybox"), filepath.Join(root, "bin/sh"))
		writeFile(t, filepath.Join(root, "usr/bin/passwd"), "p", 0o755)
		os.Chmod(filepath.Join(root, "usr/bin/passwd"), 0o755|os.ModeSetuid)
		writeFile(t, filepath.Join(root, "home/u/.profile"), "x", 0o600)
		os.Chown(filepath.Join(root, "home/u/.profile"), 1000, 1000)
		os.Symlink("usr/lib", filepath.Join(root, "lib"))
		syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644)
		filepath.Walk(root, func(p string, _ os.FileInfo, _ error) error { os.Chtimes(p, stamp, stamp); return nil })
		return ctx
	}
	var notes []string
	var built []layer.Built
	var keys []string
	for _, ctxDir := range []string{mk(time.Unix(1e9, 0)), mk(time.Now())} {
		s, err := NewTar(TarOptions{Context: ctxDir, Src: "rootfs", Warn: func(m string) { notes = append(notes, m) }})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key(t, s))
		tr, err := s.Tree(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if e, _ := tr.Get("bin/sh"); e.Type != tar.TypeLink || e.Linkname != "bin/busybox" {
			t.Fatalf("hardlink: %+v", e)
		}
		if e, _ := tr.Get("usr/bin/passwd"); e.Mode != 0o4755 {
			t.Fatalf("setuid: %o", e.Mode)
		}
		if e, _ := tr.Get("lib"); e.Type != tar.TypeSymlink || e.Linkname != "usr/lib" {
			t.Fatalf("symlink: %+v", e)
		}
		if os.Geteuid() == 0 {
			if e, _ := tr.Get("home/u/.profile"); e.UID != 1000 || e.GID != 1000 {
				t.Fatalf("owner not kept: %+v", e)
			}
		}
		b, err := layer.Build(tr, t.TempDir(), layer.Options{})
		if err != nil {
			t.Fatal(err)
		}
		built = append(built, b)
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "fifo") {
		t.Fatalf("notes %q", notes)
	}
	if keys[0] != keys[1] || built[0].Digest != built[1].Digest {
		t.Fatal("same tree in two directories with different mtimes differs")
	}
	if built[0].Files != 3 || built[0].Inodes != 10 { // bin bin/busybox bin/sh home home/u .profile lib usr usr/bin passwd
		t.Fatalf("files %d inodes %d", built[0].Files, built[0].Inodes)
	}
}

// TestFilesLayerReproducible: the same context, copied to another place with
// different mtimes and group-write bits (umask), gives the same layer.
func TestFilesLayerReproducible(t *testing.T) {
	var digests []string
	for i, perm := range []os.FileMode{0o644, 0o664} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "static/a.txt"), "a", perm)
		writeFile(t, filepath.Join(dir, "static/sub/b.txt"), "b", perm)
		stamp := time.Unix(int64(1e9*(i+1)), 0)
		os.Chtimes(filepath.Join(dir, "static/a.txt"), stamp, stamp)
		s, _ := NewFiles(FilesOptions{Context: dir, Items: []FileItem{{Src: "static", Dest: "/app/static/"}}})
		tr, err := s.Tree(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b, err := layer.Build(tr, t.TempDir(), layer.Options{MTime: time.Unix(1700000000, 0)})
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, b.Digest.String()+" "+key(t, s))
	}
	if digests[0] != digests[1] {
		t.Fatalf("differs: %v", digests)
	}
}
