package gc

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/blobstore"
	"github.com/berth-dev/berth/internal/registry/metadata"
	"github.com/berth-dev/berth/internal/registry/upload"
)

// Collector removes what nothing references any more.
type Collector struct {
	DB      *metadata.DB
	Blobs   *blobstore.Store
	Uploads *upload.Manager
	Fence   *Fence

	// Grace protects anything written or touched more recently.
	Grace time.Duration
	// UploadExpiry is the age at which unfinished uploads are purged.
	UploadExpiry time.Duration
	// DeleteUntagged also removes manifests nothing keeps.
	DeleteUntagged bool
}

// Report says what a collection removed (or, for a dry run, would remove).
type Report struct {
	DryRun     bool                    `json:"dryRun"`
	Manifests  []metadata.RepoManifest `json:"manifests"`
	Blobs      []digest.Digest         `json:"blobs"`
	BytesFreed int64                   `json:"bytesFreed"`
	Uploads    int                     `json:"uploads"`
	TempFiles  int                     `json:"tempFiles"`
	Duration   time.Duration           `json:"duration"`
}

type candidate struct {
	digest digest.Digest
	path   string
	size   int64
}

// Run performs one collection. The slow part, walking the blob files, runs
// while pushes continue; the decisions and deletions run under the fence's
// exclusive lock against a fresh view of the metadata.
func (c *Collector) Run(ctx context.Context, dryRun bool) (Report, error) {
	start := time.Now()
	rep := Report{DryRun: dryRun, Manifests: []metadata.RepoManifest{}, Blobs: []digest.Digest{}}
	cutoff := start.Add(-c.Grace)

	var cands []candidate
	err := c.Blobs.Walk(func(e blobstore.Entry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !e.Info.ModTime().Before(cutoff) {
			return nil
		}
		switch {
		case e.IsTemp:
			rep.TempFiles++
			if !dryRun {
				if err := os.Remove(e.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
		case e.Digest != "":
			cands = append(cands, candidate{digest: e.Digest, path: e.Path, size: e.Info.Size()})
		}
		return nil
	})
	if err != nil {
		return rep, err
	}

	if c.Uploads != nil {
		n, err := c.Uploads.Purge(start.Add(-c.UploadExpiry), dryRun)
		rep.Uploads = n
		if err != nil {
			return rep, err
		}
	}

	unlock := c.Fence.lock()
	defer unlock()

	except := map[metadata.RepoManifest]bool{}
	if c.DeleteUntagged {
		gone, err := c.DB.Unreachable(cutoff)
		if err != nil {
			return rep, err
		}
		for _, rm := range gone {
			if !dryRun {
				if err := c.DB.DeleteManifest(rm.Repo, rm.Digest); err != nil && !errors.Is(err, metadata.ErrNotFound) {
					return rep, err
				}
			}
			except[rm] = true
			rep.Manifests = append(rep.Manifests, rm)
		}
	}
	if _, err := c.DB.DropContent(dryRun); err != nil {
		return rep, err
	}
	live, err := c.DB.Live(except)
	if err != nil {
		return rep, err
	}
	var doomed []candidate
	for _, cand := range cands {
		if _, ok := live[cand.digest]; ok {
			continue
		}
		if !c.Fence.lastTouch(cand.digest).Before(cutoff) {
			continue
		}
		doomed = append(doomed, cand)
	}
	if !dryRun {
		ds := make([]digest.Digest, len(doomed))
		for i, d := range doomed {
			ds[i] = d.digest
		}
		// Links go first: a crash between the two steps leaves an
		// unlinked file (collected next time), never a link to nothing.
		if err := c.DB.UnlinkEverywhere(ds); err != nil {
			return rep, err
		}
	}
	for _, d := range doomed {
		if !dryRun {
			if err := c.Blobs.Delete(d.digest); err != nil {
				return rep, err
			}
		}
		rep.Blobs = append(rep.Blobs, d.digest)
		rep.BytesFreed += d.size
	}
	c.Fence.forgetBefore(cutoff)
	rep.Duration = time.Since(start)
	return rep, nil
}
