// Package daemon is berth's composition root: it opens the image store,
// the runtime and the network manager, adapts them to the engine's ports,
// and serves the engine's API on the unix socket.
package daemon

import (
	"context"
	"errors"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/signals"
	"github.com/berth-dev/berth/internal/store"
)

// images adapts internal/store to engine.Images.
type images struct {
	s    *store.Store
	opts imageref.Options
}

// Resolve finds ref in the store, pulling it when it is not there.
func (a images) Resolve(ctx context.Context, ref string) (engine.ImageInfo, error) {
	img, err := a.s.Get(ref)
	if errors.Is(err, store.ErrNotFound) {
		img, err = a.s.Pull(ctx, ref, a.opts)
	}
	if err != nil {
		return engine.ImageInfo{}, err
	}
	return imageInfo(img), nil
}

func imageInfo(img store.Image) engine.ImageInfo {
	c := img.Config.Config
	info := engine.ImageInfo{Digest: img.Digest, Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, User: c.User, WorkingDir: c.WorkingDir}
	if h := c.Healthcheck; h != nil && len(h.Test) > 0 {
		info.Healthcheck = healthFrom(h)
	}
	// builds validate STOPSIGNAL; an unreadable one from elsewhere means
	// SIGTERM, as with none.
	if sig, err := signals.Parse(c.StopSignal); c.StopSignal != "" && err == nil {
		info.StopSignal = sig
	}
	return info
}

func healthFrom(h *v1.HealthConfig) *model.HealthCheck {
	return &model.HealthCheck{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
}

// Rootfs mounts the image's layers with a writable upper layer in dir (the
// container's directory, named by its ID).
func (a images) Rootfs(ctx context.Context, digest, dir string) (string, error) {
	img, err := a.s.Get(digest)
	if err != nil {
		return "", err
	}
	return a.s.Mount(ctx, filepath.Base(dir), img, dir)
}

// ReleaseRootfs unmounts it (the directory is the engine's to delete).
func (a images) ReleaseRootfs(dir string) error { return a.s.Unmount(dir) }

// Pull fetches ref again (the store skips blobs it has).
func (a images) Pull(ctx context.Context, ref string) (engine.ImageInfo, error) {
	img, err := a.s.Pull(ctx, ref, a.opts)
	if err != nil {
		return engine.ImageInfo{}, err
	}
	return imageInfo(img), nil
}

// List lists stored images.
func (a images) List() ([]engine.ImageSummary, error) {
	imgs, err := a.s.List()
	if err != nil {
		return nil, err
	}
	out := make([]engine.ImageSummary, len(imgs))
	for i, img := range imgs {
		out[i] = engine.ImageSummary{Names: img.Names, Digest: img.Digest, Size: img.Size, Created: img.Created}
	}
	return out, nil
}

// Remove deletes an image.
func (a images) Remove(ref string, force bool) error { return a.s.Remove(ref, force) }

// PruneSnapshots removes snapshots no image and no container needs
// (engine.SnapshotPruner).
func (a images) PruneSnapshots() (int, error) { return a.s.PruneSnapshots(nil) }
