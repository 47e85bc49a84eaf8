package spec

import (
	"fmt"
	"os"
	"path/filepath"
)

// FromDockerfile imports a Dockerfile (its ARGs set by args) as a file
// with one image named "image"; the build context is root (--context),
// else the Dockerfile's directory, as with `docker build -f FILE DIR`.
func FromDockerfile(path, root string, args map[string]string) (*File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	// A missing Dockerfile is named as a missing berth.yaml is, before its
	// (then missing too) directory is looked at as the context.
	if _, err := os.Stat(abs); err != nil {
		return nil, err
	}
	dir := filepath.Dir(abs)
	if root == "" {
		root = dir
	}
	ctxDir, err := RealRoot(root)
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", root, err)
	}
	img, err := ParseDockerfileContext(abs, ctxDir, args)
	if err != nil {
		return nil, err
	}
	img.Name = "image"
	return &File{Path: abs, Dir: dir, Context: ctxDir, Root: ctxDir, Vars: args,
		Images: map[string]*Image{img.Name: img}, ImageOrder: []string{img.Name}}, nil
}
