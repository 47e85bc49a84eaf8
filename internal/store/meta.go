package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bbolt buckets. Every change to them is one transaction, so the metadata is
// never half-updated whatever the moment of a crash.
var (
	bucketNames  = []byte("names")  // normalised name → manifest digest
	bucketImages = []byte("images") // manifest digest → imageRecord (JSON)
	bucketMounts = []byte("mounts") // container ID → mountRecord (JSON)
)

// LayerInfo describes one layer of an image.
type LayerInfo struct {
	Digest    string `json:"digest"`    // the blob as distributed (usually compressed)
	DiffID    string `json:"diffID"`    // the uncompressed tar
	Size      int64  `json:"size"`      // size of the blob
	MediaType string `json:"mediaType"` // the manifest's media type for the blob
}

// imageRecord is what the database keeps per image; the config itself stays
// in its blob.
type imageRecord struct {
	Digest       string      `json:"digest"`
	MediaType    string      `json:"mediaType"`
	ConfigDigest string      `json:"config"`
	ManifestSize int64       `json:"manifestSize"`
	ConfigSize   int64       `json:"configSize"`
	Layers       []LayerInfo `json:"layers"`
	Pulled       time.Time   `json:"pulled"`
}

// blobs lists every blob the image needs.
func (r imageRecord) blobs() []string {
	out := []string{r.Digest, r.ConfigDigest}
	for _, l := range r.Layers {
		out = append(out, l.Digest)
	}
	return out
}

// mountRecord remembers a container's overlay so Remove can tell which images
// are in use and PruneSnapshots which snapshots are.
type mountRecord struct {
	Dir      string   `json:"dir"`
	Image    string   `json:"image"`    // manifest digest
	ChainIDs []string `json:"chainIDs"` // bottom-most first
}

func (s *Store) initDB() error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketNames, bucketImages, bucketMounts} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: initialising database: %w", err)
	}
	return nil
}

func getRecord(tx *bolt.Tx, digest string) (imageRecord, bool, error) {
	var r imageRecord
	b := tx.Bucket(bucketImages).Get([]byte(digest))
	if b == nil {
		return r, false, nil
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, false, fmt.Errorf("store: image record %s is corrupt: %w", digest, err)
	}
	return r, true, nil
}

func putJSON(tx *bolt.Tx, bucket []byte, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put([]byte(key), b)
}

// namesOf returns the names pointing at digest, sorted.
func namesOf(tx *bolt.Tx, digest string) []string {
	var out []string
	tx.Bucket(bucketNames).ForEach(func(k, v []byte) error {
		if string(v) == digest {
			out = append(out, string(k))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// allRecords returns every image record.
func allRecords(tx *bolt.Tx) ([]imageRecord, error) {
	var out []imageRecord
	err := tx.Bucket(bucketImages).ForEach(func(k, v []byte) error {
		var r imageRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("store: image record %s is corrupt: %w", k, err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// allMounts returns every mount record by container ID.
func allMounts(tx *bolt.Tx) (map[string]mountRecord, error) {
	out := map[string]mountRecord{}
	err := tx.Bucket(bucketMounts).ForEach(func(k, v []byte) error {
		var m mountRecord
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("store: mount record %s is corrupt: %w", k, err)
		}
		out[string(k)] = m
		return nil
	})
	return out, err
}
