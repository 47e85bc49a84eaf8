package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// tmpMarker is in the name of every snapshot directory that is not (or no
// longer) complete; Open removes such directories.
const tmpMarker = ".tmp-"

// ChainIDs computes OCI chain IDs from diff IDs, bottom-most first.
func ChainIDs(diffIDs []string) []string {
	out := make([]string, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d
			continue
		}
		sum := sha256.Sum256([]byte(out[i-1] + " " + d))
		out[i] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return out
}

// snapshotDir returns the directory of a chain ID, refusing anything that is
// not a sha256 digest (it becomes a path).
func (s *Store) snapshotDir(chainID string) (string, error) {
	h, ok := strings.CutPrefix(chainID, "sha256:")
	if !ok || !isHex64(h) {
		return "", fmt.Errorf("invalid chain ID %q (want sha256:<64 hex>)", chainID)
	}
	return filepath.Join(s.snapshots, h), nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Prepare makes sure every layer of img is unpacked and returns the layer
// directories top-most first, the order overlayfs wants in lowerdir. Each
// layer is unpacked once, however many Prepares run at the same time.
func (s *Store) Prepare(ctx context.Context, img Image) (lowerDirs []string, err error) {
	s.snapMu.RLock()
	defer s.snapMu.RUnlock()
	return s.prepare(ctx, img)
}

func (s *Store) prepare(ctx context.Context, img Image) ([]string, error) {
	for i, l := range img.Layers {
		if h, ok := strings.CutPrefix(l.DiffID, "sha256:"); !ok || !isHex64(h) {
			return nil, fmt.Errorf("image %s: layer %d: invalid diff ID %q", img.Digest, i, l.DiffID)
		}
	}
	chains := img.ChainIDs()
	lowers := make([]string, len(chains))
	for i, c := range chains {
		dir, err := s.snapshotDir(c)
		if err != nil {
			return nil, err
		}
		lowers[len(chains)-1-i] = filepath.Join(dir, "fs")
		if exists(dir) {
			continue
		}
		unlock := s.chainLocks.lock(c)
		if !exists(dir) { // another Prepare may have finished it meanwhile
			err = s.unpack(ctx, img.Layers[i], dir)
		}
		unlock()
		if err != nil {
			return nil, fmt.Errorf("image %s: unpacking layer %d (%s): %w", img.Digest, i, img.Layers[i].Digest, err)
		}
	}
	return lowers, nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// unpack extracts one layer into final/fs. Everything happens in a
// temporary sibling that becomes final only by rename, after the content
// matched its diff ID and reached the disk; a crash leaves the temporary
// directory, which Open removes.
func (s *Store) unpack(ctx context.Context, l LayerInfo, final string) (err error) {
	blob, err := s.openBlob(l.Digest)
	if err != nil {
		return err
	}
	defer blob.Close()

	tmp, err := os.MkdirTemp(s.snapshots, filepath.Base(final)+tmpMarker)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	fsDir := filepath.Join(tmp, "fs")
	if err := os.Mkdir(fsDir, 0o755); err != nil {
		return err
	}

	rc, err := decompress(blob)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	tee := io.TeeReader(rc, h)
	if err := unpackTar(ctx, tee, fsDir); err != nil {
		return err
	}
	// The diff ID covers the whole stream, including tar padding after the
	// end-of-archive marker.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fmt.Errorf("reading layer: %w", err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != l.DiffID {
		return fmt.Errorf("uncompressed content hashes to %s, the config says %s", got, l.DiffID)
	}

	// One syncfs flushes every file of the unpack instead of an fsync each.
	if err := syncFS(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		if exists(final) { // completed by someone else: ours is redundant
			os.RemoveAll(tmp)
			return nil
		}
		return err
	}
	s.unpacks.Add(1)
	return syncFS(s.snapshots)
}

// decompress recognises the layer compression by its magic bytes rather than
// trusting the media type, which tools get wrong.
func decompress(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading layer: %w", err)
	}
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("layer gzip: %w", err)
		}
		return zr, nil
	case len(magic) == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd:
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("layer zstd: %w", err)
		}
		return zr.IOReadCloser(), nil
	default:
		return io.NopCloser(br), nil
	}
}

func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}

// PruneSnapshots removes snapshots that no stored image, no recorded mount
// and no caller-known user (inUse, may be nil) needs. A snapshot is renamed
// to a temporary name before its removal so a crash never leaves a partial
// snapshot under its real name.
func (s *Store) PruneSnapshots(inUse func(chainID string) bool) (removed int, err error) {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	keep := map[string]bool{}
	err = s.db.View(func(tx *bolt.Tx) error {
		recs, err := allRecords(tx)
		if err != nil {
			return err
		}
		for _, r := range recs {
			img := Image{Layers: r.Layers}
			for _, c := range img.ChainIDs() {
				keep[c] = true
			}
		}
		mounts, err := allMounts(tx)
		for _, m := range mounts {
			for _, c := range m.ChainIDs {
				keep[c] = true
			}
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	ents, err := os.ReadDir(s.snapshots)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, e := range ents {
		if !e.IsDir() || !isHex64(e.Name()) {
			continue
		}
		c := "sha256:" + e.Name()
		if keep[c] || (inUse != nil && inUse(c)) {
			continue
		}
		dir := filepath.Join(s.snapshots, e.Name())
		doomed := dir + tmpMarker + "prune-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		if err := os.Rename(dir, doomed); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		if err := os.RemoveAll(doomed); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}
