package source

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// statCache remembers content hashes by file identity (size, mtime, ctime,
// inode, device), so computing a key for unchanged files costs a stat, not a
// read. One JSON file per source definition keeps concurrent sources from
// overwriting each other's entries.
type statCache struct {
	file string // "" = in-memory only
	// racyWindow: files modified this recently are hashed but not
	// remembered, because a same-size rewrite within the filesystem's
	// timestamp granularity would be indistinguishable (git's "racily
	// clean" problem).
	racyWindow time.Duration

	// hashFile reads and hashes a file (replaceable to count reads).
	hashFile func(string) (string, error)

	mu      sync.Mutex
	old     map[string]statEntry
	used    map[string]statEntry
	changed bool
}

type statEntry struct {
	Size   int64  `json:"size"`
	MTime  int64  `json:"mtime"`
	CTime  int64  `json:"ctime,omitempty"`
	Inode  uint64 `json:"ino,omitempty"`
	Dev    uint64 `json:"dev,omitempty"`
	SHA256 string `json:"sha256"`
}

// openStatCache loads the cache for the source identified by id from dir
// (no persistence when dir is ""). A missing or unreadable cache is empty.
func openStatCache(dir, id string) *statCache {
	c := &statCache{racyWindow: time.Second, hashFile: hashFile, old: map[string]statEntry{}, used: map[string]statEntry{}}
	if dir == "" {
		return c
	}
	sum := sha256.Sum256([]byte(id))
	c.file = filepath.Join(dir, "statcache-"+hex.EncodeToString(sum[:12])+".json")
	if data, err := os.ReadFile(c.file); err == nil {
		_ = json.Unmarshal(data, &c.old) // a damaged cache only costs re-hashing
	}
	return c
}

// hash returns the sha256 of the regular file at p, whose Lstat is fi.
func (c *statCache) hash(p string, fi fs.FileInfo) (string, error) {
	id := fileIdentity(fi)
	c.mu.Lock()
	if e, ok := c.old[p]; ok && sameFile(e, id) {
		c.used[p] = e
		c.mu.Unlock()
		return e.SHA256, nil
	}
	c.mu.Unlock()

	sum, err := c.hashFile(p)
	if err != nil {
		return "", err
	}
	id.SHA256 = sum
	cutoff := time.Now().Add(-c.racyWindow).UnixNano()
	if id.MTime < cutoff && id.CTime < cutoff {
		c.mu.Lock()
		c.used[p] = id
		c.changed = true
		c.mu.Unlock()
	}
	return sum, nil
}

func sameFile(a, b statEntry) bool {
	return a.Size == b.Size && a.MTime == b.MTime && a.CTime == b.CTime && a.Inode == b.Inode && a.Dev == b.Dev
}

// save writes the entries used by this run (dropping stale ones) if anything
// changed. Failing to save only costs speed, so callers may ignore the error.
func (c *statCache) save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.file == "" || (!c.changed && len(c.used) == len(c.old)) {
		return nil
	}
	data, err := json.Marshal(c.used)
	if err != nil {
		return err
	}
	if err := writeCacheFile(c.file, data); err != nil {
		return err
	}
	c.old, c.used, c.changed = c.used, map[string]statEntry{}, false
	return nil
}

// writeCacheFile replaces path with data through a temp file and rename,
// so a reader never sees half a file. No fsync: losing a cache file after a
// power loss only costs recomputing it.
func writeCacheFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cache-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
