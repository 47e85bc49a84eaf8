package source

import (
	"archive/tar"
	"context"
	"strings"
	"testing"
)

func TestPaths(t *testing.T) {
	p, err := NewPaths([]PathItem{
		{Path: "/data", Type: "directory", Mode: ptr(int64(0o750)), UID: ptr(65532), GID: ptr(65532)},
		{Path: "/usr/local/bin/web", Type: "symlink", Target: "/app/web"},
		{Path: "/etc/motd", Type: "file", Content: "hello\n"},
		{Path: "/tmp", Type: "directory", Mode: ptr(int64(0o1777))},
	})
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := p.Tree(context.Background())
	if e, _ := tr.Get("data"); e.Type != tar.TypeDir || e.Mode != 0o750 || e.UID != 65532 {
		t.Errorf("data: %+v", e)
	}
	if e, _ := tr.Get("usr/local/bin/web"); e.Type != tar.TypeSymlink || e.Linkname != "/app/web" {
		t.Errorf("symlink: %+v", e)
	}
	if e, _ := tr.Get("tmp"); e.Mode != 0o1777 {
		t.Errorf("tmp: %o", e.Mode)
	}
	if body, mode, _, _, _ := readEntry(t, p, "etc/motd"); body != "hello\n" || mode != 0o644 {
		t.Errorf("motd: %q %o", body, mode)
	}
	q, _ := NewPaths([]PathItem{{Path: "/data", Type: "directory"}})
	if key(t, p) == key(t, q) {
		t.Fatal("keys collide")
	}
}

func TestPathsErrors(t *testing.T) {
	cases := []struct {
		items []PathItem
		want  string
	}{
		{[]PathItem{{Path: "/x", Type: "fifo"}}, `type "fifo"`},
		{[]PathItem{{Path: "/x", Type: "symlink"}}, "needs a target"},
		{[]PathItem{{Path: "/", Type: "directory"}}, "root"},
		{[]PathItem{{Path: "/../x", Type: "directory"}}, "'..'"},
		{[]PathItem{{Path: "/bin", Type: "symlink", Target: "usr/bin"}, {Path: "/bin/sh", Type: "file"}}, `parent "bin" is a symlink`},
		{[]PathItem{{Path: "/x", Type: "file", Mode: ptr(int64(0o20000))}}, "outside"},
	}
	for _, c := range cases {
		_, err := NewPaths(c.items)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.items, err, c.want)
		}
	}
}
