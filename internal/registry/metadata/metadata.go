// Package metadata is the registry's index in a bbolt database: which
// repositories exist, which blobs each repository may serve, its manifests,
// its tags and the referrers of each subject. Manifest content lives here
// too (it is small and read on every pull); layer content does not.
//
// Layout:
//
//	repos/<repo>/blobs/<digest>             -> size (8 bytes, big endian)
//	repos/<repo>/manifests/<digest>         -> Manifest record (JSON)
//	repos/<repo>/tags/<tag>                 -> digest
//	repos/<repo>/referrers/<subject>\x00<d> -> empty
//	content/<digest>                        -> manifest bytes
//
// bbolt keys are sorted bytewise, which is the order the spec wants for
// tag and catalog listings.
package metadata

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
	bolt "go.etcd.io/bbolt"
)

var (
	bucketRepos   = []byte("repos")
	bucketContent = []byte("content")
	bucketBlobs   = []byte("blobs")
	bucketMans    = []byte("manifests")
	bucketTags    = []byte("tags")
	bucketRefs    = []byte("referrers")
)

var (
	// ErrNotFound is returned for a missing repository, manifest or tag.
	ErrNotFound = errors.New("not found")
)

// Manifest is what the registry remembers about one manifest in one
// repository, besides its bytes.
type Manifest struct {
	Digest       digest.Digest     `json:"digest"`
	MediaType    string            `json:"mediaType"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"` // as the referrers API reports it
	Annotations  map[string]string `json:"annotations,omitempty"`
	Subject      digest.Digest     `json:"subject,omitempty"`
	Blobs        []digest.Digest   `json:"blobs,omitempty"`    // config and layers
	Children     []digest.Digest   `json:"children,omitempty"` // an index's manifests
	Pushed       time.Time         `json:"pushed"`
}

// DB is the metadata store.
type DB struct {
	bolt *bolt.DB
}

// Open opens (or creates) the database file at path.
func Open(path string) (*DB, error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("metadata %s: %w", path, err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketRepos, bucketContent} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Close()
		return nil, err
	}
	// Concurrent writers (pushes) are coalesced into one commit: one
	// fsync for many requests.
	b.MaxBatchDelay = 2 * time.Millisecond
	return &DB{bolt: b}, nil
}

// Close closes the database.
func (db *DB) Close() error { return db.bolt.Close() }

func repoBucket(tx *bolt.Tx, repo string) *bolt.Bucket {
	return tx.Bucket(bucketRepos).Bucket([]byte(repo))
}

func createRepo(tx *bolt.Tx, repo string) (*bolt.Bucket, error) {
	rb, err := tx.Bucket(bucketRepos).CreateBucketIfNotExists([]byte(repo))
	if err != nil {
		return nil, err
	}
	for _, name := range [][]byte{bucketBlobs, bucketMans, bucketTags, bucketRefs} {
		if _, err := rb.CreateBucketIfNotExists(name); err != nil {
			return nil, err
		}
	}
	return rb, nil
}

// RepoExists reports whether repo has ever received content.
func (db *DB) RepoExists(repo string) bool {
	found := false
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		found = repoBucket(tx, repo) != nil
		return nil
	})
	return found
}

// Blob returns the size of blob d if repo may serve it.
func (db *DB) Blob(repo string, d digest.Digest) (int64, bool) {
	var size int64
	found := false
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		rb := repoBucket(tx, repo)
		if rb == nil {
			return nil
		}
		if v := rb.Bucket(bucketBlobs).Get([]byte(d)); v != nil {
			found = true
			if len(v) == 8 {
				size = int64(binary.BigEndian.Uint64(v))
			}
		}
		return nil
	})
	return size, found
}

// BlobInAnyRepo reports whether some repository links blob d (for mounts
// without a source repository).
func (db *DB) BlobInAnyRepo(d digest.Digest, allowed func(repo string) bool) (string, bool) {
	var from string
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRepos).ForEachBucket(func(name []byte) error {
			rb := tx.Bucket(bucketRepos).Bucket(name)
			if rb.Bucket(bucketBlobs).Get([]byte(d)) != nil && (allowed == nil || allowed(string(name))) {
				from = string(name)
				return errStop
			}
			return nil
		})
	})
	return from, from != ""
}

var errStop = errors.New("stop")

// LinkBlob records that repo may serve blob d of the given size.
func (db *DB) LinkBlob(repo string, d digest.Digest, size int64) error {
	return db.bolt.Batch(func(tx *bolt.Tx) error {
		rb, err := createRepo(tx, repo)
		if err != nil {
			return err
		}
		return rb.Bucket(bucketBlobs).Put([]byte(d), sizeBytes(size))
	})
}

// UnlinkBlob removes repo's link to blob d; it reports whether there was one.
func (db *DB) UnlinkBlob(repo string, d digest.Digest) (bool, error) {
	found := false
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		rb := repoBucket(tx, repo)
		if rb == nil {
			return nil
		}
		b := rb.Bucket(bucketBlobs)
		if b.Get([]byte(d)) == nil {
			return nil
		}
		found = true
		return b.Delete([]byte(d))
	})
	return found, err
}

func sizeBytes(size int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(size))
	return b[:]
}

// PutManifest stores manifest m with its content in repo and points tags at
// it, all in one transaction. The manifest is also linked as a blob of repo
// (clients fetch manifests by digest through the blob API).
func (db *DB) PutManifest(repo string, m Manifest, content []byte, tags []string) error {
	return db.PutManifestKeeping(repo, m, content, tags, nil)
}

// ImmutableTagError is a change an immutable tag refused: moving Tag (which
// names Digest) elsewhere, or deleting it.
type ImmutableTagError struct {
	Tag    string
	Digest digest.Digest
}

func (e *ImmutableTagError) Error() string {
	return fmt.Sprintf("tag %q is immutable (it names %s)", e.Tag, e.Digest)
}

// PutManifestKeeping is PutManifest where a tag for which immutable
// reports true may be created or set to the digest it already names, but
// not moved: that fails the whole PUT with an *ImmutableTagError, checked in
// the same transaction as the write.
func (db *DB) PutManifestKeeping(repo string, m Manifest, content []byte, tags []string, immutable func(tag string) bool) error {
	rec, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return db.bolt.Batch(func(tx *bolt.Tx) error {
		rb, err := createRepo(tx, repo)
		if err != nil {
			return err
		}
		key := []byte(m.Digest)
		if immutable != nil {
			for _, t := range tags {
				if old := rb.Bucket(bucketTags).Get([]byte(t)); old != nil && string(old) != string(key) && immutable(t) {
					return &ImmutableTagError{Tag: t, Digest: digest.Digest(old)}
				}
			}
		}
		cb := tx.Bucket(bucketContent)
		if cb.Get(key) == nil {
			if err := cb.Put(key, content); err != nil {
				return err
			}
		}
		if err := rb.Bucket(bucketMans).Put(key, rec); err != nil {
			return err
		}
		if err := rb.Bucket(bucketBlobs).Put(key, sizeBytes(m.Size)); err != nil {
			return err
		}
		for _, t := range tags {
			if err := rb.Bucket(bucketTags).Put([]byte(t), key); err != nil {
				return err
			}
		}
		if m.Subject != "" {
			if err := rb.Bucket(bucketRefs).Put(refKey(m.Subject, m.Digest), nil); err != nil {
				return err
			}
		}
		return nil
	})
}

func refKey(subject, d digest.Digest) []byte {
	k := make([]byte, 0, len(subject)+1+len(d))
	k = append(k, subject...)
	k = append(k, 0)
	return append(k, d...)
}

// Resolve returns the manifest record that ref (a tag or a digest) names in repo.
func (db *DB) Resolve(repo, ref string) (Manifest, error) {
	m, _, err := db.resolve(repo, ref, false)
	return m, err
}

// ResolveContent is Resolve plus the manifest's bytes. The bytes are copied
// out of the database, so they stay valid after the call.
func (db *DB) ResolveContent(repo, ref string) (Manifest, []byte, error) {
	return db.resolve(repo, ref, true)
}

func (db *DB) resolve(repo, ref string, withContent bool) (Manifest, []byte, error) {
	var m Manifest
	var content []byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		rb := repoBucket(tx, repo)
		if rb == nil {
			return ErrNotFound
		}
		key := []byte(ref)
		if _, err := digest.Parse(ref); err != nil {
			key = rb.Bucket(bucketTags).Get([]byte(ref))
			if key == nil {
				return ErrNotFound
			}
		}
		v := rb.Bucket(bucketMans).Get(key)
		if v == nil {
			return ErrNotFound
		}
		if err := json.Unmarshal(v, &m); err != nil {
			return err
		}
		if !withContent {
			return nil
		}
		c := tx.Bucket(bucketContent).Get(key)
		if c == nil {
			return ErrNotFound
		}
		content = bytes.Clone(c)
		return nil
	})
	return m, content, err
}

// Content returns the bytes of manifest d if repo links it.
func (db *DB) Content(repo string, d digest.Digest) ([]byte, bool) {
	var content []byte
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		rb := repoBucket(tx, repo)
		if rb == nil || rb.Bucket(bucketMans).Get([]byte(d)) == nil {
			return nil
		}
		if c := tx.Bucket(bucketContent).Get([]byte(d)); c != nil {
			content = bytes.Clone(c)
		}
		return nil
	})
	return content, content != nil
}

// DeleteManifest removes manifest d from repo with every tag that points at
// it and its referrer link. It reports ErrNotFound when repo has no such
// manifest. The content itself is left for GC, since other repositories may
// share it.
func (db *DB) DeleteManifest(repo string, d digest.Digest) error {
	return db.DeleteManifestKeeping(repo, d, nil)
}

// DeleteManifestKeeping is DeleteManifest, refused with an
// *ImmutableTagError when a tag for which immutable reports true names d.
func (db *DB) DeleteManifestKeeping(repo string, d digest.Digest, immutable func(tag string) bool) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		rb := repoBucket(tx, repo)
		if rb == nil {
			return ErrNotFound
		}
		if immutable != nil {
			var locked string
			_ = rb.Bucket(bucketTags).ForEach(func(k, v []byte) error {
				if locked == "" && string(v) == string(d) && immutable(string(k)) {
					locked = string(k)
				}
				return nil
			})
			if locked != "" {
				return &ImmutableTagError{Tag: locked, Digest: d}
			}
		}
		return deleteManifest(rb, d)
	})
}

func deleteManifest(rb *bolt.Bucket, d digest.Digest) error {
	mb := rb.Bucket(bucketMans)
	v := mb.Get([]byte(d))
	if v == nil {
		return ErrNotFound
	}
	var m Manifest
	if err := json.Unmarshal(v, &m); err != nil {
		return err
	}
	if err := mb.Delete([]byte(d)); err != nil {
		return err
	}
	if err := rb.Bucket(bucketBlobs).Delete([]byte(d)); err != nil {
		return err
	}
	if m.Subject != "" {
		if err := rb.Bucket(bucketRefs).Delete(refKey(m.Subject, d)); err != nil {
			return err
		}
	}
	tb := rb.Bucket(bucketTags)
	var drop [][]byte
	_ = tb.ForEach(func(k, v []byte) error {
		if string(v) == string(d) {
			drop = append(drop, bytes.Clone(k))
		}
		return nil
	})
	for _, k := range drop {
		if err := tb.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// DeleteTag removes tag from repo, leaving the manifest.
func (db *DB) DeleteTag(repo, tag string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		rb := repoBucket(tx, repo)
		if rb == nil {
			return ErrNotFound
		}
		tb := rb.Bucket(bucketTags)
		if tb.Get([]byte(tag)) == nil {
			return ErrNotFound
		}
		return tb.Delete([]byte(tag))
	})
}

// Tags returns up to n tags of repo sorted lexically, starting after last
// (n <= 0: all). more reports whether tags remain after the page.
func (db *DB) Tags(repo, last string, n int) (tags []string, more bool, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		rb := repoBucket(tx, repo)
		if rb == nil {
			return ErrNotFound
		}
		tags, more = page(rb.Bucket(bucketTags).Cursor(), last, n)
		return nil
	})
	return tags, more, err
}

// Repositories returns up to n repository names after last, sorted.
func (db *DB) Repositories(last string, n int) (repos []string, more bool, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		repos, more = page(tx.Bucket(bucketRepos).Cursor(), last, n)
		return nil
	})
	return repos, more, err
}

func page(c *bolt.Cursor, last string, n int) ([]string, bool) {
	out := []string{}
	var k []byte
	if last == "" {
		k, _ = c.First()
	} else {
		k, _ = c.Seek([]byte(last))
		if k != nil && string(k) == last {
			k, _ = c.Next()
		}
	}
	for ; k != nil; k, _ = c.Next() {
		if n > 0 && len(out) == n {
			return out, true
		}
		out = append(out, string(k))
	}
	return out, false
}

// Referrers returns the manifests in repo whose subject is d.
func (db *DB) Referrers(repo string, subject digest.Digest) ([]Manifest, error) {
	var out []Manifest
	err := db.bolt.View(func(tx *bolt.Tx) error {
		rb := repoBucket(tx, repo)
		if rb == nil {
			return nil
		}
		prefix := append([]byte(subject), 0)
		c := rb.Bucket(bucketRefs).Cursor()
		mb := rb.Bucket(bucketMans)
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			v := mb.Get(k[len(prefix):])
			if v == nil {
				continue
			}
			var m Manifest
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}
