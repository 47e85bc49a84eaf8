package metadata

import (
	"encoding/json"
	"time"

	"github.com/opencontainers/go-digest"
	bolt "go.etcd.io/bbolt"
)

// RepoManifest names a manifest in a repository.
type RepoManifest struct {
	Repo   string        `json:"repository"`
	Digest digest.Digest `json:"digest"`
}

// Live returns every digest that some repository's manifests keep alive:
// the manifests themselves, their blobs and their children. Manifests in
// except are treated as gone (what a dry run would delete).
func (db *DB) Live(except map[RepoManifest]bool) (map[digest.Digest]struct{}, error) {
	live := map[digest.Digest]struct{}{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRepos).ForEachBucket(func(name []byte) error {
			rb := tx.Bucket(bucketRepos).Bucket(name)
			return rb.Bucket(bucketMans).ForEach(func(k, v []byte) error {
				if except[RepoManifest{Repo: string(name), Digest: digest.Digest(k)}] {
					return nil
				}
				var m Manifest
				if err := json.Unmarshal(v, &m); err != nil {
					return err
				}
				live[m.Digest] = struct{}{}
				for _, b := range m.Blobs {
					live[b] = struct{}{}
				}
				for _, c := range m.Children {
					live[c] = struct{}{}
				}
				return nil
			})
		})
	})
	return live, err
}

// Unreachable returns the manifests, per repository, that nothing keeps:
// no tag points at them, no kept index lists them, they refer to no kept
// subject, and they were pushed before cutoff. An index that goes frees its
// children in the same pass.
func (db *DB) Unreachable(cutoff time.Time) ([]RepoManifest, error) {
	var out []RepoManifest
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRepos).ForEachBucket(func(name []byte) error {
			rb := tx.Bucket(bucketRepos).Bucket(name)
			all := map[digest.Digest]Manifest{}
			if err := rb.Bucket(bucketMans).ForEach(func(k, v []byte) error {
				var m Manifest
				if err := json.Unmarshal(v, &m); err != nil {
					return err
				}
				all[m.Digest] = m
				return nil
			}); err != nil {
				return err
			}
			kept := map[digest.Digest]bool{}
			var queue []digest.Digest
			keep := func(d digest.Digest) {
				if _, ok := all[d]; ok && !kept[d] {
					kept[d] = true
					queue = append(queue, d)
				}
			}
			_ = rb.Bucket(bucketTags).ForEach(func(_, v []byte) error {
				keep(digest.Digest(v))
				return nil
			})
			for d, m := range all {
				if !m.Pushed.Before(cutoff) {
					keep(d)
				}
			}
			// Propagate: children of kept indexes, and referrers of kept
			// subjects, are kept; repeat until nothing changes.
			for {
				for len(queue) > 0 {
					d := queue[0]
					queue = queue[1:]
					for _, c := range all[d].Children {
						keep(c)
					}
				}
				changed := false
				for d, m := range all {
					if !kept[d] && m.Subject != "" && kept[m.Subject] {
						keep(d)
						changed = true
					}
				}
				if !changed {
					break
				}
			}
			for d := range all {
				if !kept[d] {
					out = append(out, RepoManifest{Repo: string(name), Digest: d})
				}
			}
			return nil
		})
	})
	return out, err
}

// DropContent deletes stored manifest bytes that no repository links any
// more and returns their digests (dryRun only lists them).
func (db *DB) DropContent(dryRun bool) ([]digest.Digest, error) {
	var gone []digest.Digest
	fn := func(tx *bolt.Tx) error {
		used := map[string]bool{}
		if err := tx.Bucket(bucketRepos).ForEachBucket(func(name []byte) error {
			return tx.Bucket(bucketRepos).Bucket(name).Bucket(bucketMans).ForEach(func(k, _ []byte) error {
				used[string(k)] = true
				return nil
			})
		}); err != nil {
			return err
		}
		cb := tx.Bucket(bucketContent)
		if err := cb.ForEach(func(k, _ []byte) error {
			if !used[string(k)] {
				gone = append(gone, digest.Digest(k))
			}
			return nil
		}); err != nil {
			return err
		}
		if dryRun {
			return nil
		}
		for _, d := range gone {
			if err := cb.Delete([]byte(d)); err != nil {
				return err
			}
		}
		return nil
	}
	if dryRun {
		return gone, db.bolt.View(fn)
	}
	return gone, db.bolt.Update(fn)
}

// UnlinkEverywhere removes the links of blobs ds from every repository
// (their content is about to be deleted).
func (db *DB) UnlinkEverywhere(ds []digest.Digest) error {
	if len(ds) == 0 {
		return nil
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRepos).ForEachBucket(func(name []byte) error {
			bb := tx.Bucket(bucketRepos).Bucket(name).Bucket(bucketBlobs)
			for _, d := range ds {
				if err := bb.Delete([]byte(d)); err != nil {
					return err
				}
			}
			return nil
		})
	})
}
