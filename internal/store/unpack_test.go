package store

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Later tar entries replace earlier ones; a directory replaced by a file,
// a symlink replaced by a directory, and an entry next to a whiteout of its
// own name all come out as the last entry says.
func TestUnpackReplacements(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	b := tarBytes(t, []ent{
		{name: "x/", typ: tar.TypeDir},
		{name: "x/y", body: "inside"},
		{name: "x", body: "now a file"},
		{name: "s", typ: tar.TypeSymlink, link: "/etc"},
		{name: "s/", typ: tar.TypeDir},
		{name: "s/inner", body: "in a real dir"},
		{name: "dup", body: "first"},
		{name: "dup", body: "second"},
		{name: ".wh.kept", body: ""},
		{name: "kept", body: "same layer wins"},
		{name: "also", body: "before its whiteout"},
		{name: ".wh.also", body: ""},
	})
	if err := unpackTar(context.Background(), bytes.NewReader(b), dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"x": "now a file", "s/inner": "in a real dir", "dup": "second", "kept": "same layer wins", "also": "before its whiteout"} {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if fi, err := os.Lstat(filepath.Join(dir, "s")); err != nil || !fi.IsDir() {
		t.Errorf("s is not a directory: %v %v", fi, err)
	}
	if names := readNames(t, dir); strings.Join(names, ",") != "also,dup,kept,s,x" {
		t.Errorf("entries %v", names)
	}
}

func TestCleanEntryPath(t *testing.T) {
	for in, want := range map[string]string{"./a/b": "a/b", "a//b/": "a/b", "./": ".", "a/../b": "b"} {
		if got, err := cleanEntryPath(in); err != nil || got != want {
			t.Errorf("cleanEntryPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "/etc/x", "..", "../x", "a/../../x", "a\x00b"} {
		if _, err := cleanEntryPath(in); err == nil {
			t.Errorf("cleanEntryPath(%q) accepted", in)
		}
	}
}
