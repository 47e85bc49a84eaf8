package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The root is the directory a berth.yaml may read from: its own directory,
// or what the user names on the command line (berth build --context DIR).
// A berth.yaml can come from an untrusted pull request, so nothing it names
// (context:, from: oci-layout:/docker-archive:, keyring:) may lead outside
// the root, by ".." or absolute paths or through symlinks.

// within reports whether p is root or below it. Both are clean absolute
// paths; root "/" contains everything.
func within(root, p string) bool {
	if root == string(filepath.Separator) {
		return strings.HasPrefix(p, root)
	}
	return p == root || strings.HasPrefix(p, root+string(filepath.Separator))
}

// realPath resolves the symlinks of p (clean and absolute). A path that does
// not exist (yet) is resolved as far as it exists, the rest appended, so
// that a missing file below a symlink still counts as where the symlink
// leads.
func realPath(p string) (string, error) { return realPathDepth(p, 0) }

func realPathDepth(p string, depth int) (string, error) {
	if depth > 255 {
		return "", &fs.PathError{Op: "resolve", Path: p, Err: errors.New("too many levels of symbolic links")}
	}
	real, err := filepath.EvalSymlinks(p)
	if err == nil {
		return real, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	parent := filepath.Dir(p)
	if parent == p {
		return p, nil
	}
	// A dangling symlink: its target is what would be read.
	if fi, lerr := os.Lstat(p); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		target, rerr := os.Readlink(p)
		if rerr != nil {
			return "", rerr
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(parent, target)
		}
		if filepath.Clean(target) == p {
			return p, nil
		}
		return realPathDepth(filepath.Clean(target), depth+1)
	}
	rp, err := realPathDepth(parent, depth+1)
	if err != nil {
		return "", err
	}
	return filepath.Join(rp, filepath.Base(p)), nil
}

// insideRoot resolves p (absolute) and reports whether it stays inside the
// real root.
func insideRoot(root, p string) (real string, ok bool, err error) {
	real, err = realPath(filepath.Clean(p))
	if err != nil {
		return "", false, err
	}
	return real, within(root, real), nil
}

// RealRoot resolves a root directory given on the command line (or the
// berth.yaml directory): absolute, symlinks resolved, and a directory.
func RealRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", &fs.PathError{Op: "open", Path: dir, Err: errors.New("not a directory")}
	}
	return real, nil
}

// HostPath resolves a path the file names on the host (relative to the
// file's directory, or absolute) for the parts of berth.yaml loaded outside
// this package (environments' policy: keys and VEX documents), refusing it
// when it resolves (through ".." or symlinks) outside the root, as the
// file's other paths are.
func (f *File) HostPath(s string) (string, error) {
	if s == "" {
		return "", errors.New("path must not be empty")
	}
	if strings.ContainsRune(s, 0) {
		return "", fmt.Errorf("path %q contains a NUL byte", s)
	}
	p := s
	if !filepath.IsAbs(p) {
		p = filepath.Join(f.Dir, p)
	}
	p = filepath.Clean(p)
	real, ok, err := insideRoot(f.Root, p)
	if err != nil {
		return "", fmt.Errorf("%q: %v", s, err)
	}
	if !ok {
		return "", fmt.Errorf("%q resolves to %s, outside the directory of %s (%s); a berth.yaml reads only inside its directory", s, real, filepath.Base(f.Path), f.Root)
	}
	return real, nil
}
