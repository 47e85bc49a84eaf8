package source

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/berth-dev/berth/internal/build/layer"
)

// PathItem creates one directory, symlink or small file.
type PathItem struct {
	Path    string // image path
	Type    string // directory | symlink | file
	Target  string // symlink target
	Content string // file content
	// Mode defaults to 0755 for directories and 0644 for files (symlinks
	// are always 0777).
	Mode     *int64
	UID, GID *int
}

// Paths is the source of a paths layer. Its tree is a pure function of the
// items, applied in order (a later item at the same path wins).
type Paths struct {
	items   []PathItem
	entries []layer.Entry
}

// NewPaths validates items.
func NewPaths(items []PathItem) (*Paths, error) {
	p := &Paths{items: items}
	for i, it := range items {
		where := fmt.Sprintf("paths[%d] (%s)", i, it.Path)
		clean, err := layer.CleanPath(it.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		e := layer.Entry{Path: clean}
		if it.UID != nil {
			e.UID = *it.UID
		}
		if it.GID != nil {
			e.GID = *it.GID
		}
		if e.UID < 0 || e.GID < 0 {
			return nil, fmt.Errorf("%s: negative owner", where)
		}
		if it.Mode != nil && (*it.Mode < 0 || *it.Mode > 0o7777) {
			return nil, fmt.Errorf("%s: mode %#o outside 0..07777", where, *it.Mode)
		}
		mode := func(def int64) int64 {
			if it.Mode != nil {
				return *it.Mode
			}
			return def
		}
		switch it.Type {
		case "directory":
			if it.Target != "" || it.Content != "" {
				return nil, fmt.Errorf("%s: a directory takes no target or content", where)
			}
			e.Type, e.Mode = tar.TypeDir, mode(0o755)
		case "symlink":
			if it.Target == "" {
				return nil, fmt.Errorf("%s: symlink needs a target", where)
			}
			if it.Content != "" || it.Mode != nil {
				return nil, fmt.Errorf("%s: a symlink takes no content or mode", where)
			}
			e.Type, e.Mode, e.Linkname = tar.TypeSymlink, 0o777, it.Target
		case "file":
			if it.Target != "" {
				return nil, fmt.Errorf("%s: a file takes no target", where)
			}
			content := it.Content
			e.Type, e.Mode, e.Size = tar.TypeReg, mode(0o644), int64(len(content))
			e.Open = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil }
		default:
			return nil, fmt.Errorf("%s: type %q: want directory, symlink or file", where, it.Type)
		}
		p.entries = append(p.entries, e)
	}
	// Conflicts (a path under a symlink or file) surface now, not at build.
	if _, err := p.Tree(context.Background()); err != nil {
		return nil, err
	}
	return p, nil
}

// Key hashes the items.
func (p *Paths) Key(context.Context) (string, error) {
	return newKey("paths", p.items).sum()
}

// Tree returns the items' entries; missing parents are 0755 root dirs.
func (p *Paths) Tree(context.Context) (*layer.Tree, error) {
	t := layer.NewTree()
	for i, e := range p.entries {
		if err := t.Add(e); err != nil {
			return nil, fmt.Errorf("paths[%d]: %w", i, err)
		}
	}
	return t, nil
}
