package sbom

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// layerScan is what one layer holds, as far as visibility and the
// inventory are concerned: every entry's path (in tar order) with what the
// inventory found in it, and the layer's whiteouts and opaque markers.
type layerScan struct {
	entries   []scannedEntry
	whiteouts []string // paths removed from lower layers
	opaques   []string // directories whose lower contents are hidden
}

type scannedEntry struct {
	path  string
	dir   bool
	found *finding // nil: nothing of interest
}

// scanLayer reads one layer, calling inspect for every entry (r reads a
// regular file's content, only during the call).
func scanLayer(l v1.Layer, inspect func(hdr *tar.Header, p string, r io.Reader) (*finding, error)) (*layerScan, error) {
	ls := &layerScan{}
	err := readLayer(l, func(hdr *tar.Header, r io.Reader) error {
		p, ok := cleanPath(hdr.Name)
		if !ok {
			return nil // the root, or a path escaping it: not part of the filesystem
		}
		dir, base := path.Split(p)
		dir = strings.TrimSuffix(dir, "/")
		if base == ".wh..wh..opq" {
			ls.opaques = append(ls.opaques, dir)
			return nil
		}
		if name, ok := strings.CutPrefix(base, ".wh."); ok {
			ls.whiteouts = append(ls.whiteouts, path.Join(dir, name))
			return nil
		}
		f, err := inspect(hdr, p, r)
		if err != nil {
			return err
		}
		ls.entries = append(ls.entries, scannedEntry{path: p, dir: hdr.Typeflag == tar.TypeDir, found: f})
		return nil
	})
	return ls, err
}

// scanLayers scans every layer, in parallel (decompression is the cost),
// at most GOMAXPROCS at a time.
func scanLayers(layers []v1.Layer, inspect func(layer int, hdr *tar.Header, p string, r io.Reader) (*finding, error)) ([]*layerScan, error) {
	scans := make([]*layerScan, len(layers))
	errs := make([]error, len(layers))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, l := range layers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			scans[i], errs[i] = scanLayer(l, func(hdr *tar.Header, p string, r io.Reader) (*finding, error) {
				return inspect(i, hdr, p, r)
			})
			if errs[i] != nil {
				errs[i] = fmt.Errorf("layer %d: %w", i, errs[i])
			}
		}()
	}
	wg.Wait()
	return scans, errors.Join(errs...)
}

// visible calls use for every finding of an entry that is visible in the
// image's final filesystem, with overlay semantics: an upper layer's
// entry, whiteout (.wh.NAME) or opaque marker (.wh..wh..opq) hides what
// lower layers have at that path (and below it).
func visible(scans []*layerScan, use func(p string, f *finding)) {
	seen := map[string]bool{}   // paths an upper layer has (or removed)
	gone := map[string]bool{}   // subtrees an upper layer removed or replaced by a non-directory
	opaque := map[string]bool{} // directories whose lower contents are hidden
	for i := len(scans) - 1; i >= 0; i-- {
		ls := scans[i]
		var newGone []string
		for _, e := range ls.entries {
			if seen[e.path] || hidden(e.path, gone, opaque) {
				continue
			}
			if !e.dir {
				newGone = append(newGone, e.path) // a file hides a lower directory's contents
			}
			if e.found != nil {
				use(e.path, e.found)
			}
		}
		for _, e := range ls.entries {
			seen[e.path] = true
		}
		for _, p := range append(newGone, ls.whiteouts...) {
			gone[p], seen[p] = true, true
		}
		for _, p := range ls.opaques {
			opaque[p] = true
		}
	}
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
