package inspect

import (
	"archive/tar"
	"sort"
	"strings"
)

// filesystem is an image's final filesystem: path → entry.
type filesystem map[string]*fsEntry

// apply lays one layer on top, with overlay semantics: whiteouts and opaque
// markers act on lower layers only (image-spec layer.md: files in the same
// layer as a whiteout are not hidden by it), so they are applied before the
// layer's own entries. All removals of a layer happen in one pass over the
// filesystem, checking each path's ancestors, rather than one pass per
// whiteout (images built with apt-get purge carry thousands of them).
func (fs filesystem) apply(s *scannedLayer) {
	gone := map[string]bool{}   // removed with everything below
	hidden := map[string]bool{} // everything below removed, the entry itself kept
	for _, p := range s.whiteouts {
		gone[p] = true
	}
	for _, d := range s.opaques {
		hidden[d] = true
	}
	for _, e := range s.entries {
		// A non-directory replacing a directory hides the directory's contents.
		if old, ok := fs[e.Path]; ok && old.Type == tar.TypeDir && e.Type != tar.TypeDir {
			hidden[e.Path] = true
		}
	}
	if len(gone)+len(hidden) > 0 {
		for p := range fs {
			if removedBy(p, gone, hidden) {
				delete(fs, p)
			}
		}
	}
	for _, e := range s.entries {
		fs[e.Path] = e
	}
}

// removedBy reports whether p itself is in gone or one of its ancestors is
// in gone or hidden ("" is the root: an opaque marker at the top level).
func removedBy(p string, gone, hidden map[string]bool) bool {
	if gone[p] {
		return true
	}
	for q := p; ; {
		i := strings.LastIndexByte(q, '/')
		if i < 0 {
			return hidden[""] || gone[""]
		}
		q = q[:i]
		if gone[q] || hidden[q] {
			return true
		}
	}
}

// sortedPaths returns the paths in bytewise order.
func (fs filesystem) sortedPaths() []string {
	out := make([]string, 0, len(fs))
	for p := range fs {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// typeName is a human name for a tar type flag.
func typeName(t byte) string {
	switch t {
	case tar.TypeReg:
		return "file"
	case tar.TypeDir:
		return "dir"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hardlink"
	case tar.TypeChar:
		return "char"
	case tar.TypeBlock:
		return "block"
	case tar.TypeFifo:
		return "fifo"
	default:
		return "type-" + string(rune(t))
	}
}
