package imageref

import (
	"github.com/berth-dev/berth/internal/atomicfile"

	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// writeLayout adds img to the OCI layout at dir (created if missing).
//
// ggcr's layout package writes config and manifest blobs and index.json in
// place, so an interrupted write can leave a truncated index.json or a
// truncated blob under its final name that later writes then trust. Here
// every file is written to a temp file, verified (blobs: digest and size),
// fsynced and renamed, and index.json is only replaced once every blob it
// will reference is in place.
func writeLayout(img v1.Image, dir, tag string) error {
	if err := ensureLayout(dir); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for i, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return fmt.Errorf("layer %d: %v", i, err)
		}
		size, err := l.Size()
		if err != nil {
			return fmt.Errorf("layer %d: %v", i, err)
		}
		if err := writeBlob(dir, d, size, l.Compressed); err != nil {
			return fmt.Errorf("layer %d (%s): %v", i, d, err)
		}
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return err
	}
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	if err := writeBlobBytes(dir, cfgName, rawCfg); err != nil {
		return fmt.Errorf("config: %v", err)
	}
	rawManifest, err := img.RawManifest()
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if err := writeBlobBytes(dir, digest, rawManifest); err != nil {
		return fmt.Errorf("manifest: %v", err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	desc := v1.Descriptor{MediaType: mt, Size: int64(len(rawManifest)), Digest: digest}
	if cf, err := img.ConfigFile(); err == nil && cf.OS != "" && cf.Architecture != "" {
		desc.Platform = cf.Platform()
	}
	if tag != "" {
		desc.Annotations = map[string]string{RefNameAnnotation: tag}
	}
	return updateIndex(dir, desc, tag)
}

// ensureLayout creates dir and its oci-layout marker when missing, refusing
// to turn an unrelated non-empty directory into a layout.
func ensureLayout(dir string) error {
	marker := filepath.Join(dir, "oci-layout")
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists, is not empty and is not an OCI image layout (no oci-layout file)", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(marker, []byte(`{"imageLayoutVersion":"1.0.0"}`+"\n"), 0o644)
}

// updateIndex adds desc to index.json. A tagged descriptor replaces every
// entry with the same ref.name; an untagged one replaces untagged entries
// with the same digest (so rewriting the same image is idempotent).
func updateIndex(dir string, desc v1.Descriptor, tag string) error {
	path := filepath.Join(dir, "index.json")
	im := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &im); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
	case errors.Is(err, os.ErrNotExist):
	default:
		return err
	}
	kept := im.Manifests[:0]
	for _, d := range im.Manifests {
		n := d.Annotations[RefNameAnnotation]
		if tag != "" && n == tag {
			continue
		}
		if tag == "" && n == "" && d.Digest == desc.Digest {
			continue
		}
		kept = append(kept, d)
	}
	im.Manifests = append(kept, desc)
	out, err := json.MarshalIndent(&im, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(out, '\n'), 0o644)
}

func writeBlobBytes(dir string, h v1.Hash, b []byte) error {
	return writeBlob(dir, h, int64(len(b)), func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
}

// writeBlob stores a blob under blobs/<alg>/<hex> unless a file of the right
// size is already there; the content is verified against h before it gets
// its final name.
func writeBlob(dir string, h v1.Hash, size int64, open func() (io.ReadCloser, error)) error {
	if h.Algorithm != "sha256" {
		return fmt.Errorf("unsupported digest algorithm %q", h.Algorithm)
	}
	blobDir := filepath.Join(dir, "blobs", h.Algorithm)
	final := filepath.Join(blobDir, h.Hex)
	if st, err := os.Stat(final); err == nil && st.Mode().IsRegular() && st.Size() == size {
		return nil
	}
	if err := os.MkdirAll(blobDir, 0o755); err != nil {
		return err
	}
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return replaceFile(final, false, func(w io.Writer) error {
		hasher := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, hasher), rc)
		if err != nil {
			return err
		}
		if n != size {
			return fmt.Errorf("expected %d bytes, read %d", size, n)
		}
		if got := hex.EncodeToString(hasher.Sum(nil)); got != h.Hex {
			return fmt.Errorf("content has digest sha256:%s", got)
		}
		return nil
	})
}

// replaceFile writes path through a temp file in the same directory that
// fill writes: fsync, mode 0644, rename, and (syncDir) an fsync of the
// directory so the rename itself is durable. On any error the temp file is
// removed and path is untouched.
func replaceFile(path string, syncDir bool, fill func(io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = fill(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if syncDir {
		if d, err := os.Open(dir); err == nil {
			// Best effort: make the rename itself durable.
			_ = d.Sync()
			d.Close()
		}
	}
	return nil
}
