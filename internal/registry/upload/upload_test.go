package upload

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

func TestChunkedUploadAndFinish(t *testing.T) {
	m, err := NewManager(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Start("team/app", digest.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Append(strings.NewReader("hello "), 0); err != nil || n != 6 {
		t.Fatalf("first chunk: n=%d err=%v", n, err)
	}
	if _, err := s.Append(strings.NewReader("again"), 0); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("repeated chunk: err=%v, want ErrOutOfOrder", err)
	}
	if n, err := s.Append(strings.NewReader("world"), -1); err != nil || n != 11 {
		t.Fatalf("streamed chunk: n=%d err=%v", n, err)
	}
	if _, _, err := s.Finish(digest.FromString("nope")); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("wrong digest: err=%v", err)
	}
	want := digest.FromString("hello world")
	path, size, err := s.Finish(want)
	if err != nil || size != 11 {
		t.Fatalf("finish: size=%d err=%v", size, err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "hello world" {
		t.Fatalf("data = %q", got)
	}
	if _, err := s.Append(strings.NewReader("x"), -1); !errors.Is(err, ErrUnknown) {
		t.Fatalf("append after finish: %v", err)
	}
	if err := m.Remove(s); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(m.Dir()); len(left) != 0 {
		t.Fatalf("session files left: %v", left)
	}
}

func TestSha512AndAlgorithmSwitch(t *testing.T) {
	m, _ := NewManager(t.TempDir())
	data := bytes.Repeat([]byte("x"), 100000)
	s, err := m.Start("a", digest.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(bytes.NewReader(data), -1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Finish(digest.SHA512.FromBytes(data)); err != nil {
		t.Fatal(err)
	}
	// A sha256 session finished with a sha512 digest is hashed again.
	s2, _ := m.Start("a", digest.SHA256)
	s2.Append(bytes.NewReader(data), -1)
	if _, _, err := s2.Finish(digest.SHA512.FromBytes(data)); err != nil {
		t.Fatal(err)
	}
}

func TestSessionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	m, _ := NewManager(dir)
	s, _ := m.Start("team/app", digest.SHA256)
	s.Append(strings.NewReader("first half, "), 0)
	id := s.ID

	// A new manager over the same directory: what a restarted server sees.
	m2, _ := NewManager(dir)
	if _, err := m2.Get(id, "other/repo"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("session of another repository: err=%v", err)
	}
	if _, err := m2.Get("../../etc", "team/app"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("traversal ID: err=%v", err)
	}
	s2, err := m2.Get(id, "team/app")
	if err != nil {
		t.Fatal(err)
	}
	if s2.Size() != 12 {
		t.Fatalf("size after restart = %d", s2.Size())
	}
	if _, err := s2.Append(strings.NewReader("second half"), 12); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s2.Finish(digest.FromString("first half, second half")); err != nil {
		t.Fatalf("digest after restart: %v", err)
	}
}

func TestPurge(t *testing.T) {
	dir := t.TempDir()
	m, _ := NewManager(dir)
	s, _ := m.Start("a", digest.SHA256)
	// A file left by a crash or an older layout, two hours old.
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, nil, 0o644)
	past := time.Now().Add(-2 * time.Hour)
	os.Chtimes(junk, past, past)

	if n, err := m.Purge(time.Now().Add(-time.Hour), false); err != nil || n != 1 {
		t.Fatalf("purge of hour-old things: n=%d err=%v, want 1 (the junk)", n, err)
	}
	if _, err := os.Stat(junk); !os.IsNotExist(err) {
		t.Fatal("junk survived")
	}
	if _, err := m.Get(s.ID, "a"); err != nil {
		t.Fatalf("fresh session purged: %v", err)
	}
	later := time.Now().Add(time.Second)
	if n, err := m.Purge(later, true); err != nil || n != 1 {
		t.Fatalf("dry run: n=%d err=%v", n, err)
	}
	if _, err := m.Get(s.ID, "a"); err != nil {
		t.Fatal("dry run removed the session")
	}
	if n, err := m.Purge(later, false); err != nil || n != 1 {
		t.Fatalf("purge: n=%d err=%v", n, err)
	}
	if _, err := m.Get(s.ID, "a"); !errors.Is(err, ErrUnknown) {
		t.Fatal("purged session still known")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("files left: %v", left)
	}
}
