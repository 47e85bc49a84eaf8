// Package store keeps the engine's images and their unpacked layers on the
// local disk.
//
// Layout under the root (default /var/lib/berth):
//
//	images/blobs/sha256/xx/HEX   manifests, configs and layer blobs, by digest
//	images/images.db             bbolt: names → digests, image records, mounts
//	snapshots/HEX/fs             one unpacked layer, keyed by its chain ID
//	snapshots/HEX.tmp-*          an unpack in progress (removed by Open)
//
// A snapshot directory holds one layer's diff in overlayfs form (whiteouts as
// 0/0 character devices, opaque directories marked with an xattr), so a
// container's root filesystem is an overlay of its image's snapshots.
//
// The store is meant for one process (the daemon): Open takes bbolt's
// exclusive lock on images.db, which is what makes removing leftover
// temporary files at Open safe.
package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/internal/blobstore"
)

// ErrNotFound is returned when no image matches a name or digest.
var ErrNotFound = errors.New("image not found")

// ErrInUse is returned by Remove for an image a mounted container uses.
var ErrInUse = errors.New("image is in use")

// Store is the image and snapshot store rooted at one directory.
// Its methods are safe for concurrent use.
type Store struct {
	root      string
	snapshots string
	blobs     *blobstore.Store
	db        *bolt.DB

	// contentMu keeps garbage collection of blobs (write side) away from
	// pulls that have written blobs but not yet their image record.
	contentMu sync.RWMutex
	// snapMu keeps PruneSnapshots (write side) away from Prepare and Mount,
	// which create snapshots or depend on them existing.
	snapMu sync.RWMutex
	// chainLocks serialises unpacking per chain ID so concurrent Prepares of
	// one image unpack each layer once.
	chainLocks keyedMutex

	// unpacks counts layers unpacked since Open (for tests and metrics).
	unpacks atomic.Int64
}

// Open opens (creating if needed) the store under root. It fails quickly
// when another process holds the store.
func Open(root string) (*Store, error) {
	if root == "" {
		return nil, fmt.Errorf("store root: empty path")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("store root %q: %w", root, err)
	}
	s := &Store{root: abs, snapshots: filepath.Join(abs, "snapshots")}
	for _, d := range []string{filepath.Join(abs, "images"), s.snapshots} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	if s.blobs, err = blobstore.Open(filepath.Join(abs, "images", "blobs")); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	dbPath := filepath.Join(abs, "images", "images.db")
	s.db, err = bolt.Open(dbPath, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("store %s: %s is locked by another process (is a berth daemon running?)", abs, dbPath)
		}
		return nil, fmt.Errorf("store %s: opening %s: %w", abs, dbPath, err)
	}
	if err := s.initDB(); err != nil {
		s.db.Close()
		return nil, err
	}
	if err := s.removeLeftovers(); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the database (and with it the store's lock).
func (s *Store) Close() error { return s.db.Close() }

// Root returns the store's root directory.
func (s *Store) Root() string { return s.root }

// removeLeftovers deletes what a crash can leave: half-unpacked snapshots
// and half-written blobs. Only safe while holding the database lock, which
// guarantees no other process is writing them.
func (s *Store) removeLeftovers() error {
	ents, err := os.ReadDir(s.snapshots)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), tmpMarker) {
			if err := os.RemoveAll(filepath.Join(s.snapshots, e.Name())); err != nil {
				return fmt.Errorf("store: removing unfinished snapshot: %w", err)
			}
		}
	}
	return s.blobs.Walk(func(e blobstore.Entry) error {
		if e.IsTemp {
			return os.Remove(e.Path)
		}
		return nil
	})
}

// keyedMutex is a set of mutexes created on demand and dropped when unused.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

// lock locks key and returns its unlock function.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
