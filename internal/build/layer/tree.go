// Package layer turns a set of entries (a Tree) into a reproducible OCI layer:
// a deterministic tar stream, compressed with deterministic gzip, hashed in
// the same pass so the digest and diff ID are known without re-reading.
package layer

import (
	"archive/tar"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Entry is one filesystem object of a layer.
type Entry struct {
	// Path is slash-separated, relative to the image root and clean:
	// "usr/bin/env" (no leading '/', no '..', no trailing '/').
	Path string
	// Type is tar.TypeReg, tar.TypeDir, tar.TypeSymlink or tar.TypeLink
	// (a hardlink whose Linkname is another image path of the tree).
	Type byte
	// Mode holds permission bits incl. setuid/setgid/sticky (07777) only.
	Mode     int64
	UID, GID int
	Linkname string
	Size     int64
	// Open returns the content of a regular file; it must yield exactly Size
	// bytes. Nil for other types.
	Open func() (io.ReadCloser, error)
}

// Tree is a set of entries keyed by path. The zero value is not usable; call
// NewTree.
type Tree struct {
	entries map[string]Entry
}

// NewTree returns an empty tree.
func NewTree() *Tree {
	return &Tree{entries: map[string]Entry{}}
}

// CleanPath turns a user-written image path ("/app/web", "app/web/") into the
// form Entry.Path uses ("app/web"). It refuses '..' elements (rather than
// silently clamping them at the root, which would hide mistakes) and the root
// itself.
func CleanPath(p string) (string, error) {
	orig := p
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return "", fmt.Errorf("image path %q: '..' is not allowed", orig)
		}
	}
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return "", fmt.Errorf("image path %q: refers to the image root", orig)
	}
	return p, nil
}

// validPath reports why p is not in the clean relative form, or "" if it is.
func validPath(p string) string {
	switch {
	case p == "":
		return "empty path"
	case strings.HasPrefix(p, "/"):
		return "absolute path (must be relative to the image root)"
	case strings.ContainsRune(p, 0):
		return "path contains a NUL byte"
	}
	for _, el := range strings.Split(p, "/") {
		switch el {
		case "..":
			return "path contains '..'"
		case ".", "":
			return "path is not clean (empty or '.' element, or trailing '/')"
		}
	}
	return ""
}

// Add inserts e, replacing any entry at the same path (last write wins).
// Missing parent directories are added as 0755 0:0. It refuses an entry whose
// parent is a file or symlink in the tree, and replacing a directory that has
// children with a non-directory, naming both paths.
func (t *Tree) Add(e Entry) error {
	if why := validPath(e.Path); why != "" {
		return fmt.Errorf("layer entry %q: %s", e.Path, why)
	}
	if e.Mode&^07777 != 0 || e.Mode < 0 {
		return fmt.Errorf("layer entry %q: mode %#o has bits outside 07777", e.Path, e.Mode)
	}
	if e.UID < 0 || e.GID < 0 {
		return fmt.Errorf("layer entry %q: negative owner %d:%d", e.Path, e.UID, e.GID)
	}
	switch e.Type {
	case tar.TypeReg:
		if e.Size < 0 {
			return fmt.Errorf("layer entry %q: negative size %d", e.Path, e.Size)
		}
		if e.Open == nil && e.Size > 0 {
			return fmt.Errorf("layer entry %q: regular file of %d bytes without content", e.Path, e.Size)
		}
		if e.Linkname != "" {
			return fmt.Errorf("layer entry %q: regular file with a link target %q", e.Path, e.Linkname)
		}
	case tar.TypeDir:
		e.Size, e.Open, e.Linkname = 0, nil, ""
	case tar.TypeSymlink:
		if e.Linkname == "" {
			return fmt.Errorf("layer entry %q: symlink without a target", e.Path)
		}
		e.Size, e.Open = 0, nil
	case tar.TypeLink:
		if why := validPath(e.Linkname); why != "" {
			return fmt.Errorf("layer entry %q: hardlink target %q: %s", e.Path, e.Linkname, why)
		}
		if e.Linkname == e.Path {
			return fmt.Errorf("layer entry %q: hardlink to itself", e.Path)
		}
		e.Size, e.Open = 0, nil
	default:
		return fmt.Errorf("layer entry %q: unsupported type %q", e.Path, e.Type)
	}

	// Every ancestor must be a directory (or absent, then created).
	var missing []string
	for dir := path.Dir(e.Path); dir != "."; dir = path.Dir(dir) {
		p, ok := t.entries[dir]
		if !ok {
			missing = append(missing, dir)
			continue
		}
		if p.Type != tar.TypeDir {
			return fmt.Errorf("layer entry %q: its parent %q is a %s, not a directory", e.Path, dir, typeName(p.Type))
		}
	}
	if old, ok := t.entries[e.Path]; ok && old.Type == tar.TypeDir && e.Type != tar.TypeDir {
		prefix := e.Path + "/"
		for p := range t.entries {
			if strings.HasPrefix(p, prefix) {
				return fmt.Errorf("layer entry %q: replacing a directory with a %s would orphan %q", e.Path, typeName(e.Type), p)
			}
		}
	}
	for _, dir := range missing {
		t.entries[dir] = Entry{Path: dir, Type: tar.TypeDir, Mode: 0o755}
	}
	t.entries[e.Path] = e
	return nil
}

// Get returns the entry at path p.
func (t *Tree) Get(p string) (Entry, bool) {
	e, ok := t.entries[p]
	return e, ok
}

// Len returns the number of entries.
func (t *Tree) Len() int { return len(t.entries) }

// Entries returns all entries sorted by path, bytewise. Because a parent is a
// strict prefix of its children, sorting by the path with '/' mapped below
// every other byte puts each directory right before its contents.
func (t *Tree) Entries() []Entry {
	out := make([]Entry, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return pathLess(out[i].Path, out[j].Path) })
	return out
}

// pathLess orders paths bytewise but treats '/' as the smallest byte, so that
// "a/b" sorts before "a-b" and a directory's subtree stays contiguous.
func pathLess(a, b string) bool {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca == '/' {
			return true
		}
		if cb == '/' {
			return false
		}
		return ca < cb
	}
	return len(a) < len(b)
}

func typeName(t byte) string {
	switch t {
	case tar.TypeReg:
		return "regular file"
	case tar.TypeDir:
		return "directory"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hardlink"
	}
	return fmt.Sprintf("type %q", t)
}
