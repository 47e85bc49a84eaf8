// Package blobstore keeps blob content on the local filesystem, addressed by
// digest: one file per digest, shared by every repository. It knows nothing
// about repositories or manifests; the metadata store owns those.
//
// Layout: <root>/<algorithm>/<first two hex chars>/<hex>. A file appears
// under its final name only by rename(2) after its content was verified and
// fsynced, so a reader never sees a partial blob, even after kill -9 or a
// power loss.
package blobstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"

	_ "crypto/sha256" // register the digest algorithms go-digest verifies
	_ "crypto/sha512"
)

// ErrNotFound is returned for a digest that has no blob.
var ErrNotFound = errors.New("blob not found")

// tempSuffix marks files that are being written; GC removes stale ones.
const tempSuffix = ".tmp"

// Store is a content-addressed blob directory.
type Store struct {
	root string
}

// Open returns the store rooted at dir, creating it if needed.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("blob store %s: %w", dir, err)
	}
	return &Store{root: dir}, nil
}

// Root returns the store's directory.
func (s *Store) Root() string { return s.root }

// Path returns the file of digest d. d must have been validated (digest.Parse
// or Validate); the function still refuses anything that is not plain hex so
// no caller can make it leave the root.
func (s *Store) Path(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("digest %q: %w", d, err)
	}
	hex := d.Encoded()
	return filepath.Join(s.root, string(d.Algorithm()), hex[:2], hex), nil
}

// Stat returns the size of blob d, or ErrNotFound.
func (s *Store) Stat(d digest.Digest) (int64, error) {
	p, err := s.Path(d)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Open opens blob d for reading, or returns ErrNotFound.
func (s *Store) Open(d digest.Digest) (*os.File, error) {
	p, err := s.Path(d)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

// Commit moves the verified and fsynced file at tmpPath (on the same
// filesystem) into place as blob d. When d already exists the new copy is
// discarded, so concurrent pushes of one blob leave one stored copy.
// It reports whether the blob was already present.
func (s *Store) Commit(tmpPath string, d digest.Digest) (existed bool, err error) {
	p, err := s.Path(d)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(p); err == nil {
		return true, os.Remove(tmpPath)
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	if err := os.Rename(tmpPath, p); err != nil {
		return false, err
	}
	return false, syncDir(dir)
}

// Write stores data as blob d after checking that it hashes to d. It is meant
// for small blobs held in memory (manifests pushed through the blob API).
func (s *Store) Write(d digest.Digest, data []byte) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if got := d.Algorithm().FromBytes(data); got != d {
		return fmt.Errorf("content hashes to %s, not %s", got, d)
	}
	p, err := s.Path(d)
	if err != nil {
		return err
	}
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "*"+tempSuffix)
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		_, err = s.Commit(tmp, d)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// Delete removes blob d. Deleting a missing blob is not an error.
func (s *Store) Delete(d digest.Digest) error {
	p, err := s.Path(d)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Entry is one file found by Walk.
type Entry struct {
	Digest  digest.Digest // empty for temp files
	Path    string
	Info    fs.FileInfo
	IsTemp  bool
	Corrupt bool // a name that is neither a digest nor a temp file
}

// Walk calls fn for every blob and every temp file in the store.
func (s *Store) Walk(fn func(Entry) error) error {
	return filepath.WalkDir(s.root, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if de.IsDir() {
			return nil
		}
		info, err := de.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(s.root, path)
		e := Entry{Path: path, Info: info}
		if strings.HasSuffix(de.Name(), tempSuffix) {
			e.IsTemp = true
			return fn(e)
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) == 3 {
			d := digest.NewDigestFromEncoded(digest.Algorithm(parts[0]), parts[2])
			if d.Validate() == nil && strings.HasPrefix(parts[2], parts[1]) {
				e.Digest = d
				return fn(e)
			}
		}
		e.Corrupt = true
		return fn(e)
	})
}

// syncDir fsyncs a directory so a rename into it survives a power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
