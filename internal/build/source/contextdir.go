package source

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// contextDir is a build context: the directory files, go and tar sources
// read from. Nothing outside it may be read, even through symlinks.
type contextDir struct {
	real string // absolute, symlinks resolved
}

func openContext(dir string) (contextDir, error) {
	if dir == "" {
		return contextDir{}, errors.New("build context: no directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return contextDir{}, fmt.Errorf("build context %q: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return contextDir{}, fmt.Errorf("build context %q: %w", dir, err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return contextDir{}, fmt.Errorf("build context %q: %w", dir, err)
	}
	if !fi.IsDir() {
		return contextDir{}, fmt.Errorf("build context %q: not a directory", dir)
	}
	return contextDir{real: real}, nil
}

// resolve returns the real path of src (relative to the context, as written
// by the user) and its cleaned slash form relative to the context. It refuses
// absolute paths, '..' escapes and symlinks that lead outside the context.
func (c contextDir) resolve(src string) (real, rel string, err error) {
	if src == "" {
		return "", "", errors.New("src: empty")
	}
	if filepath.IsAbs(src) {
		return "", "", fmt.Errorf("src %q: must be relative to the build context", src)
	}
	clean := filepath.Clean(src)
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", "", fmt.Errorf("src %q: escapes the build context %s", src, c.real)
	}
	real, err = filepath.EvalSymlinks(filepath.Join(c.real, clean))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", "", fmt.Errorf("src %q: not found in the build context %s", src, c.real)
		}
		return "", "", fmt.Errorf("src %q: %w", src, err)
	}
	if !c.contains(real) {
		return "", "", fmt.Errorf("src %q: resolves to %s, outside the build context %s", src, real, c.real)
	}
	return real, filepath.ToSlash(clean), nil
}

// contains reports whether p (clean, absolute) is the context or below it.
// The context "/" contains everything (the plain prefix check would build
// "//" and match nothing).
func (c contextDir) contains(p string) bool {
	if c.real == string(filepath.Separator) {
		return strings.HasPrefix(p, c.real)
	}
	return p == c.real || strings.HasPrefix(p, c.real+string(filepath.Separator))
}

// OpenInContext opens the regular file name (relative to the context dir)
// after checking that it resolves inside the context.
func OpenInContext(dir, name string) (*os.File, error) {
	c, err := openContext(dir)
	if err != nil {
		return nil, err
	}
	real, _, err := c.resolve(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file", name)
	}
	return f, nil
}
