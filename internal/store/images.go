package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/internal/blobstore"
)

// Image is a stored image.
type Image struct {
	Name         string // the name it was looked up by, else its first name ("" when it has none)
	Names        []string
	Digest       string // manifest digest
	ConfigDigest string // config digest (Docker's "image ID")
	Config       v1.ConfigFile
	Layers       []LayerInfo // bottom-most first
	Size         int64       // manifest + config + layer blobs as stored (compressed)
	Created      time.Time   // from the config
	Pulled       time.Time   // when the store first received it
}

// ChainIDs returns the chain ID of each layer, bottom-most first (OCI image
// spec: ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " +
// DiffID(Ln))). A chain ID names a layer together with everything under it,
// which is what makes it a safe snapshot key.
func (i Image) ChainIDs() []string {
	diffIDs := make([]string, len(i.Layers))
	for n, l := range i.Layers {
		diffIDs[n] = l.DiffID
	}
	return ChainIDs(diffIDs)
}

// imageFromRecord builds an Image; names nil means "look them up".
func (s *Store) imageFromRecord(r imageRecord, name string, names []string) (Image, error) {
	if names == nil {
		_ = s.db.View(func(tx *bolt.Tx) error {
			names = namesOf(tx, r.Digest)
			return nil
		})
	}
	if name == "" && len(names) > 0 {
		name = names[0]
	}
	img := Image{
		Name:         name,
		Names:        names,
		Digest:       r.Digest,
		ConfigDigest: r.ConfigDigest,
		Layers:       r.Layers,
		Pulled:       r.Pulled,
		Size:         r.ManifestSize + r.ConfigSize,
	}
	for _, l := range r.Layers {
		img.Size += l.Size
	}
	f, err := s.openBlob(r.ConfigDigest)
	if err != nil {
		return Image{}, fmt.Errorf("image %s: config: %w", r.Digest, err)
	}
	defer f.Close()
	raw, err := io.ReadAll(f)
	if err != nil {
		return Image{}, fmt.Errorf("image %s: config: %w", r.Digest, err)
	}
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&img.Config); err != nil {
		return Image{}, fmt.Errorf("image %s: config: %w", r.Digest, err)
	}
	img.Created = img.Config.Created.Time
	return img, nil
}

// resolve finds the image record for nameOrDigest: a name first (so a
// repository called like a hex string still works), then a manifest or
// config digest or a unique prefix of one. byName reports which matched.
func resolve(tx *bolt.Tx, nameOrDigest string) (rec imageRecord, name string, byName bool, err error) {
	if n, nerr := normalizeName(nameOrDigest); nerr == nil {
		if d := tx.Bucket(bucketNames).Get([]byte(n)); d != nil {
			r, ok, err := getRecord(tx, string(d))
			if err != nil {
				return rec, "", false, err
			}
			if !ok {
				return rec, "", false, fmt.Errorf("store: name %s points at missing image %s", n, d)
			}
			return r, n, true, nil
		}
	}
	prefix, ok := digestQuery(nameOrDigest)
	if !ok {
		return rec, "", false, fmt.Errorf("%w: %s", ErrNotFound, nameOrDigest)
	}
	recs, err := allRecords(tx)
	if err != nil {
		return rec, "", false, err
	}
	var matches []imageRecord
	for _, r := range recs {
		if strings.HasPrefix(r.Digest, prefix) || strings.HasPrefix(r.ConfigDigest, prefix) {
			matches = append(matches, r)
		}
	}
	switch len(matches) {
	case 0:
		return rec, "", false, fmt.Errorf("%w: %s", ErrNotFound, nameOrDigest)
	case 1:
		return matches[0], "", false, nil
	}
	var ds []string
	for _, m := range matches {
		ds = append(ds, m.Digest)
	}
	return rec, "", false, fmt.Errorf("digest prefix %q is ambiguous: matches %s", nameOrDigest, strings.Join(ds, ", "))
}

// Get returns the image called nameOrDigest ("alpine:3.20", "oci-layout:DIR",
// "sha256:…", a unique digest prefix, or "repo@sha256:…").
func (s *Store) Get(nameOrDigest string) (Image, error) {
	var (
		rec   imageRecord
		name  string
		names []string
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, name, _, err = resolve(tx, nameOrDigest)
		if err == nil {
			names = namesOf(tx, rec.Digest)
		}
		return err
	})
	if err != nil {
		return Image{}, err
	}
	return s.imageFromRecord(rec, name, names)
}

// List returns every stored image, newest first.
func (s *Store) List() ([]Image, error) {
	var (
		recs  []imageRecord
		names = map[string][]string{}
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if recs, err = allRecords(tx); err != nil {
			return err
		}
		for _, r := range recs {
			names[r.Digest] = namesOf(tx, r.Digest)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Image, 0, len(recs))
	for _, r := range recs {
		img, err := s.imageFromRecord(r, "", append([]string{}, names[r.Digest]...))
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].Digest < out[j].Digest
	})
	return out, nil
}

// Tag gives the image found by source the additional name target.
func (s *Store) Tag(source, target string) error {
	n, err := normalizeName(target)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		rec, _, _, err := resolve(tx, source)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketNames).Put([]byte(n), []byte(rec.Digest))
	})
}

// Remove deletes a name, or an image. Given a name of an image that has
// other names, only that name goes. Given its last name or a digest, the
// image and all its names go, and then every blob no image needs any more.
// An image a mounted container uses is refused with ErrInUse unless force.
// Snapshots are left to PruneSnapshots.
func (s *Store) Remove(nameOrDigest string, force bool) error {
	removedImage := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, name, byName, err := resolve(tx, nameOrDigest)
		if err != nil {
			return err
		}
		names := namesOf(tx, rec.Digest)
		if byName && len(names) > 1 {
			return tx.Bucket(bucketNames).Delete([]byte(name))
		}
		if !force {
			mounts, err := allMounts(tx)
			if err != nil {
				return err
			}
			var users []string
			for id, m := range mounts {
				if m.Image == rec.Digest {
					users = append(users, id)
				}
			}
			if len(users) > 0 {
				sort.Strings(users)
				return fmt.Errorf("%w: image %s is used by container(s) %s", ErrInUse, rec.Digest, strings.Join(users, ", "))
			}
		}
		for _, n := range names {
			if err := tx.Bucket(bucketNames).Delete([]byte(n)); err != nil {
				return err
			}
		}
		removedImage = true
		return tx.Bucket(bucketImages).Delete([]byte(rec.Digest))
	})
	if err != nil {
		return err
	}
	if removedImage {
		if _, err := s.GC(); err != nil {
			return fmt.Errorf("image removed, but collecting its blobs failed: %w", err)
		}
	}
	return nil
}

// GC deletes every blob that no image record needs, including blobs left
// by pulls that never completed. It returns how many it removed.
func (s *Store) GC() (int, error) {
	s.contentMu.Lock()
	defer s.contentMu.Unlock()
	keep := map[string]bool{}
	err := s.db.View(func(tx *bolt.Tx) error {
		recs, err := allRecords(tx)
		for _, r := range recs {
			for _, b := range r.blobs() {
				keep[b] = true
			}
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	removed := 0
	var errs []error
	err = s.blobs.Walk(func(e blobstore.Entry) error {
		if e.IsTemp || e.Corrupt || keep[e.Digest.String()] {
			return nil
		}
		if err := s.blobs.Delete(e.Digest); err != nil {
			errs = append(errs, err)
			return nil
		}
		removed++
		return nil
	})
	errs = append(errs, err)
	return removed, errors.Join(errs...)
}
