package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	bolt "go.etcd.io/bbolt"

	"github.com/berth-dev/berth/internal/blobstore"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/progress"
)

// Pull loads ref (a registry reference, oci-layout:DIR[:TAG|@DIGEST],
// docker-archive:FILE[:REPO:TAG], or an existing layout dir / .tar file; see
// imageref) and copies the blobs the store lacks into it. The image is
// recorded under ref's normalised name. Registry credentials come from the
// Docker config, as imageref resolves them. A progress.Func in ctx
// (progress.NewContext) receives each layer's progress.
func (s *Store) Pull(ctx context.Context, ref string, o imageref.Options) (Image, error) {
	n, err := normalizeName(ref)
	if err != nil {
		return Image{}, err
	}
	img, err := imageref.Load(ctx, ref, o)
	if err != nil {
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	var tr *progress.Tracker
	if fn := progress.FromContext(ctx); fn != nil {
		tr = progress.NewTracker("pull", ref, fn)
	}
	out, err := s.importImage(ctx, n, img, tr)
	if err != nil {
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	return out, nil
}

// Import records an in-memory image (for instance one `berth build` just
// made) under name, copying the blobs the store lacks.
func (s *Store) Import(ctx context.Context, name string, img v1.Image) (Image, error) {
	n, err := normalizeName(name)
	if err != nil {
		return Image{}, err
	}
	out, err := s.importImage(ctx, n, img, nil)
	if err != nil {
		return Image{}, fmt.Errorf("import %s: %w", name, err)
	}
	return out, nil
}

// importImage copies img's blobs (layers first, the manifest last) and then,
// in one transaction, records the image and points name at it. A crash in
// between leaves only unreferenced blobs, which the next pull reuses and GC
// otherwise removes.
func (s *Store) importImage(ctx context.Context, name string, img v1.Image, tr *progress.Tracker) (Image, error) {
	s.contentMu.RLock()
	defer s.contentMu.RUnlock()

	rawManifest, err := img.RawManifest()
	if err != nil {
		return Image{}, fmt.Errorf("manifest: %w", err)
	}
	mdigest := digest.FromBytes(rawManifest)
	m, err := img.Manifest()
	if err != nil {
		return Image{}, fmt.Errorf("manifest: %w", err)
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return Image{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return Image{}, fmt.Errorf("config: %w", err)
	}
	if cfg.OS != "" && cfg.OS != "linux" {
		return Image{}, fmt.Errorf("image is for OS %q; berth runs linux images only", cfg.OS)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return Image{}, fmt.Errorf("manifest lists %d layers but config rootfs.diff_ids lists %d", len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	cdigest := digest.FromBytes(rawConfig)
	if m.Config.Digest.String() != cdigest.String() {
		return Image{}, fmt.Errorf("config hashes to %s, manifest says %s", cdigest, m.Config.Digest)
	}

	rec := imageRecord{
		Digest:       mdigest.String(),
		MediaType:    string(m.MediaType),
		ConfigDigest: cdigest.String(),
		ManifestSize: int64(len(rawManifest)),
		ConfigSize:   int64(len(rawConfig)),
		Pulled:       time.Now().UTC(),
	}
	for i, desc := range m.Layers {
		if err := checkLayerMediaType(desc.MediaType); err != nil {
			return Image{}, fmt.Errorf("layer %d (%s): %w", i, desc.Digest, err)
		}
		if err := s.copyLayer(ctx, img, desc, tr); err != nil {
			return Image{}, fmt.Errorf("layer %d (%s): %w", i, desc.Digest, err)
		}
		rec.Layers = append(rec.Layers, LayerInfo{
			Digest:    desc.Digest.String(),
			DiffID:    cfg.RootFS.DiffIDs[i].String(),
			Size:      desc.Size,
			MediaType: string(desc.MediaType),
		})
	}
	if err := s.blobs.Write(cdigest, rawConfig); err != nil {
		return Image{}, fmt.Errorf("storing config: %w", err)
	}
	if err := s.blobs.Write(mdigest, rawManifest); err != nil {
		return Image{}, fmt.Errorf("storing manifest: %w", err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if old, ok, err := getRecord(tx, rec.Digest); err == nil && ok {
			rec.Pulled = old.Pulled // first arrival is the meaningful date
		}
		if err := putJSON(tx, bucketImages, rec.Digest, rec); err != nil {
			return err
		}
		return tx.Bucket(bucketNames).Put([]byte(name), []byte(rec.Digest))
	})
	if err != nil {
		return Image{}, fmt.Errorf("recording image: %w", err)
	}
	return s.imageFromRecord(rec, name, nil)
}

// checkLayerMediaType accepts the tar layer types overlay snapshots can be
// made of.
func checkLayerMediaType(mt types.MediaType) error {
	switch mt {
	case types.OCILayer, types.OCILayerZStd, types.OCIUncompressedLayer,
		types.OCIRestrictedLayer, types.OCIUncompressedRestrictedLayer,
		types.DockerLayer, types.DockerUncompressedLayer:
		return nil
	case types.DockerForeignLayer:
		return fmt.Errorf("foreign (Windows) layers are not supported")
	default:
		return fmt.Errorf("unsupported layer media type %q", mt)
	}
}

// copyLayer stores the layer blob unless the store has it already; the
// content is verified against its digest and size before it is committed.
// tr (nil: none) hears of its bytes, or that it was there.
func (s *Store) copyLayer(ctx context.Context, img v1.Image, desc v1.Descriptor, tr *progress.Tracker) error {
	d, err := digest.Parse(desc.Digest.String())
	if err != nil {
		return fmt.Errorf("invalid digest: %w", err)
	}
	if d.Algorithm() != digest.SHA256 {
		return fmt.Errorf("unsupported digest algorithm %s", d.Algorithm())
	}
	tr.Layer(d.String(), desc.Size)
	if size, err := s.blobs.Stat(d); err == nil && size == desc.Size {
		tr.Skipped(d.String())
		return nil
	}
	layer, err := img.LayerByDigest(desc.Digest)
	if err != nil {
		return err
	}
	rc, err := layer.Compressed()
	if err != nil {
		return err
	}
	rc = tr.Reader(d.String(), desc.Size, rc)
	defer rc.Close()

	f, err := os.CreateTemp(s.blobs.Root(), "layer-*"+".tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, rc})
	if err != nil {
		return fmt.Errorf("downloading: %w", err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != d.String() {
		return fmt.Errorf("content hashes to %s", got)
	}
	if desc.Size > 0 && n != desc.Size {
		return fmt.Errorf("content is %d bytes, manifest says %d", n, desc.Size)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	committed = true
	if _, err := s.blobs.Commit(tmp, d); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// ctxReader stops a long copy when the context is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// openBlob opens a stored blob by its digest string.
func (s *Store) openBlob(ds string) (*os.File, error) {
	d, err := digest.Parse(ds)
	if err != nil {
		return nil, fmt.Errorf("invalid digest %q: %w", ds, err)
	}
	f, err := s.blobs.Open(d)
	if err == blobstore.ErrNotFound {
		return nil, fmt.Errorf("blob %s is missing from the store", ds)
	}
	return f, err
}
