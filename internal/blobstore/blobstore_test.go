package blobstore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestCommitKeepsOneCopy(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d := digest.FromString("hello")
	for i := 0; i < 3; i++ {
		tmp := filepath.Join(t.TempDir(), "upload")
		os.WriteFile(tmp, []byte("hello"), 0o644)
		existed, err := s.Commit(tmp, d)
		if err != nil {
			t.Fatal(err)
		}
		if existed != (i > 0) {
			t.Fatalf("commit %d: existed=%v", i, existed)
		}
		if _, err := os.Stat(tmp); !os.IsNotExist(err) {
			t.Fatalf("commit %d left its temp file", i)
		}
	}
	var blobs int
	s.Walk(func(e Entry) error {
		if e.Digest == d {
			blobs++
		}
		return nil
	})
	if blobs != 1 {
		t.Fatalf("%d copies of one digest", blobs)
	}
	if size, err := s.Stat(d); err != nil || size != 5 {
		t.Fatalf("Stat = %d, %v", size, err)
	}
}

func TestWriteVerifiesAndWalkClassifies(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	if err := s.Write(digest.FromString("other"), []byte("data")); err == nil {
		t.Fatal("Write accepted content that does not match its digest")
	}
	d := digest.SHA512.FromString("data")
	if err := s.Write(d, []byte("data")); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "sha256", "zz"), 0o755)
	os.WriteFile(filepath.Join(dir, "sha256", "x.tmp"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "sha256", "zz", "junk"), nil, 0o644)
	var got []Entry
	s.Walk(func(e Entry) error { got = append(got, e); return nil })
	var blobs, temps, corrupt int
	for _, e := range got {
		switch {
		case e.IsTemp:
			temps++
		case e.Corrupt:
			corrupt++
		case e.Digest == d:
			blobs++
		}
	}
	if blobs != 1 || temps != 1 || corrupt != 1 {
		t.Fatalf("walk: blobs=%d temps=%d corrupt=%d", blobs, temps, corrupt)
	}
	if _, err := s.Open(digest.FromString("missing")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open missing: %v", err)
	}
	if _, err := s.Path(digest.Digest("sha256:../../etc/passwd")); err == nil {
		t.Fatal("Path accepted a traversal digest")
	}
	if err := s.Delete(d); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(d); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}
