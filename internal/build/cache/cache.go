// Package cache keeps finished layers by the hash of their inputs, so an
// unchanged layer is never rebuilt or recompressed.
//
// Layout under the cache directory:
//
//	blobs/sha256/<hex>   compressed layer blobs, one copy per digest
//	keys/<key>.json      input key → layer.Built (written temp+fsync+rename)
//	tmp/                 where layers are built, on the same filesystem so
//	                     Store is a rename
package cache

import (
	"github.com/berth-dev/berth/internal/atomicfile"

	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/berth-dev/berth/internal/build/layer"
)

// Cache is a directory of layers keyed by input hashes. It is safe for use by
// several goroutines and processes: every file appears by atomic rename.
type Cache struct {
	dir string
}

// Keys become file names, so they are restricted to a safe alphabet.
var keyPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

// Open creates (if needed) and opens the cache at dir.
func Open(dir string) (*Cache, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cache dir %q: %w", dir, err)
	}
	c := &Cache{dir: abs}
	for _, d := range []string{c.blobDir(), c.keyDir(), c.TempDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("cache dir: %w", err)
		}
	}
	return c, nil
}

// Dir returns the cache's root directory.
func (c *Cache) Dir() string { return c.dir }

// TempDir is where callers should build layers (layer.Build's dir), so Store
// can rename rather than copy.
func (c *Cache) TempDir() string { return filepath.Join(c.dir, "tmp") }

func (c *Cache) blobDir() string { return filepath.Join(c.dir, "blobs", "sha256") }
func (c *Cache) keyDir() string  { return filepath.Join(c.dir, "keys") }

// BlobPath is where the blob with digest d lives (whether or not it exists).
func (c *Cache) BlobPath(d string) (string, error) {
	alg, hex, ok := cutDigest(d)
	if !ok || alg != "sha256" {
		return "", fmt.Errorf("layer digest %q: want sha256:<64 hex>", d)
	}
	return filepath.Join(c.blobDir(), hex), nil
}

func (c *Cache) keyPath(key string) (string, error) {
	if !keyPattern.MatchString(key) {
		return "", fmt.Errorf("cache key %q: want 1-200 characters of [A-Za-z0-9._-]", key)
	}
	return filepath.Join(c.keyDir(), key+".json"), nil
}

// Lookup returns the layer stored under key. It costs one small read and one
// stat: a record whose blob is missing or has the wrong size is a miss (the
// blob was pruned or damaged; the layer is rebuilt).
func (c *Cache) Lookup(key string) (layer.Built, bool) {
	kp, err := c.keyPath(key)
	if err != nil {
		return layer.Built{}, false
	}
	data, err := os.ReadFile(kp)
	if err != nil {
		return layer.Built{}, false
	}
	var b layer.Built
	if err := json.Unmarshal(data, &b); err != nil {
		return layer.Built{}, false
	}
	// The path is derived, not trusted from the record, so the cache
	// directory can be moved.
	bp, err := c.BlobPath(b.Digest.String())
	if err != nil {
		return layer.Built{}, false
	}
	fi, err := os.Stat(bp)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != b.Size {
		return layer.Built{}, false
	}
	b.Path = bp
	return b, true
}

// Store moves the blob at b.Path into blobs/ (dropping it if a blob with the
// same digest is already there) and records key → b. It returns b with Path
// pointing into the cache.
func (c *Cache) Store(key string, b layer.Built) (layer.Built, error) {
	kp, err := c.keyPath(key)
	if err != nil {
		return layer.Built{}, err
	}
	bp, err := c.BlobPath(b.Digest.String())
	if err != nil {
		return layer.Built{}, err
	}
	if b.Path != bp {
		if fi, err := os.Stat(bp); err == nil && fi.Size() == b.Size {
			// Same digest, already stored: keep one copy.
			if err := os.Remove(b.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return layer.Built{}, fmt.Errorf("remove duplicate layer file: %w", err)
			}
		} else {
			if err := os.Rename(b.Path, bp); err != nil {
				return layer.Built{}, fmt.Errorf("move layer %s into the cache: %w", b.Digest, err)
			}
			if err := atomicfile.SyncDir(c.blobDir()); err != nil {
				return layer.Built{}, err
			}
		}
	}
	b.Path = bp
	rec := b
	rec.Path = "" // derived on Lookup
	data, err := json.Marshal(rec)
	if err != nil {
		return layer.Built{}, err
	}
	if err := atomicfile.Write(kp, data, 0o644); err != nil {
		return layer.Built{}, fmt.Errorf("record cache key %s: %w", key, err)
	}
	return b, nil
}

func cutDigest(d string) (alg, hex string, ok bool) {
	for i := 0; i < len(d); i++ {
		if d[i] == ':' {
			alg, hex = d[:i], d[i+1:]
			if len(hex) != 64 {
				return "", "", false
			}
			for _, r := range hex {
				if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
					return "", "", false
				}
			}
			return alg, hex, true
		}
	}
	return "", "", false
}
