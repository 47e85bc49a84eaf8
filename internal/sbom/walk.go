package sbom

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// visitor is called for every entry of a layer that is visible in the
// image's final filesystem (not replaced by, or under a whiteout of, an
// upper layer). r reads the entry's content; it is valid only during the
// call and only for regular files.
type visitor func(layer int, hdr *tar.Header, p string, r io.Reader) error

// walkVisible reads the layers top-down and calls visit for each visible
// entry, with overlay semantics: an upper layer's entry, whiteout
// (.wh.NAME) or opaque marker (.wh..wh..opq) hides what lower layers have
// at that path (and below it).
func walkVisible(layers []v1.Layer, visit visitor) error {
	seen := map[string]bool{}   // paths an upper layer has (or removed)
	gone := map[string]bool{}   // subtrees an upper layer removed or replaced by a non-directory
	opaque := map[string]bool{} // directories whose lower contents are hidden
	for i := len(layers) - 1; i >= 0; i-- {
		newSeen, newGone, newOpaque := map[string]bool{}, map[string]bool{}, map[string]bool{}
		err := readLayer(layers[i], func(hdr *tar.Header, r io.Reader) error {
			p, ok := cleanPath(hdr.Name)
			if !ok {
				return nil // the root, or a path escaping it: not part of the filesystem
			}
			dir, base := path.Split(p)
			dir = strings.TrimSuffix(dir, "/")
			if base == ".wh..wh..opq" {
				newOpaque[dir] = true
				return nil
			}
			if name, ok := strings.CutPrefix(base, ".wh."); ok {
				newGone[path.Join(dir, name)] = true
				return nil
			}
			if seen[p] || hidden(p, gone, opaque) {
				return nil
			}
			newSeen[p] = true
			if hdr.Typeflag != tar.TypeDir {
				newGone[p] = true // a file hides a lower directory's contents
			}
			return visit(i, hdr, p, r)
		})
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		for p := range newSeen {
			seen[p] = true
		}
		for p := range newGone {
			gone[p], seen[p] = true, true
		}
		for p := range newOpaque {
			opaque[p] = true
		}
	}
	return nil
}

// hidden reports whether p is under a removed subtree or an opaque
// directory of an upper layer ("" is the root).
func hidden(p string, gone, opaque map[string]bool) bool {
	if len(gone) == 0 && len(opaque) == 0 {
		return false
	}
	for q := p; ; {
		i := strings.LastIndexByte(q, '/')
		if i < 0 {
			return opaque[""]
		}
		q = q[:i]
		if gone[q] || opaque[q] {
			return true
		}
	}
}

// cleanPath turns a tar name into an image path without a leading "/" or
// "./"; false for the root and for names that leave it.
func cleanPath(name string) (string, bool) {
	p := path.Clean("/" + name)
	if p == "/" {
		return "", false
	}
	return p[1:], true
}

func readLayer(l v1.Layer, fn func(*tar.Header, io.Reader) error) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(hdr, tr); err != nil {
			return err
		}
	}
}
