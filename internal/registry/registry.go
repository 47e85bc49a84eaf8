// Package registry is berth's OCI Distribution Spec registry: the HTTP API
// on top of the blob store, the upload sessions, the metadata store and the
// garbage collector.
package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/berth-dev/berth/internal/blobstore"
	"github.com/berth-dev/berth/internal/registry/auth"
	"github.com/berth-dev/berth/internal/registry/gc"
	"github.com/berth-dev/berth/internal/registry/metadata"
	"github.com/berth-dev/berth/internal/registry/upload"
)

// Registry is one registry instance over one root directory.
type Registry struct {
	cfg       Config
	log       *slog.Logger
	blobs     *blobstore.Store
	uploads   *upload.Manager
	meta      *metadata.DB
	fence     *gc.Fence
	collector *gc.Collector
	auth      *auth.Authorizer // nil: no authentication
	repoRules []compiledRepoRule
	metrics   *metrics
}

// Open opens (creating if needed) the registry stored under cfg.Root.
// Only one process may open a root at a time; a second one gets an error
// that says so.
func Open(cfg Config, log *slog.Logger) (*Registry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if err := os.MkdirAll(cfg.Root, 0o755); err != nil {
		return nil, fmt.Errorf("root %s: %w", cfg.Root, err)
	}
	blobs, err := blobstore.Open(filepath.Join(cfg.Root, "blobs"))
	if err != nil {
		return nil, err
	}
	uploads, err := upload.NewManager(filepath.Join(cfg.Root, "uploads"))
	if err != nil {
		return nil, err
	}
	meta, err := metadata.Open(filepath.Join(cfg.Root, "metadata.db"))
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("registry root %s is in use by another berth process (a running `berth registry serve`?): %w", cfg.Root, err)
		}
		return nil, err
	}
	r := &Registry{cfg: cfg, log: log, blobs: blobs, uploads: uploads, meta: meta, fence: gc.NewFence()}
	if r.repoRules, err = compileRepoRules(cfg.Repositories, cfg.SignatureChecker != nil); err != nil {
		meta.Close()
		return nil, err
	}
	if cfg.SignatureChecker != nil {
		if err := loadRuleKeys(r.repoRules, cfg.SignatureChecker); err != nil {
			meta.Close()
			return nil, err
		}
	}
	if cfg.Auth != nil {
		a, err := auth.New(*cfg.Auth)
		if err != nil {
			meta.Close()
			return nil, fmt.Errorf("auth: %w", err)
		}
		r.auth = a
	}
	r.collector = &gc.Collector{
		DB: meta, Blobs: blobs, Uploads: uploads, Fence: r.fence,
		Grace: time.Duration(cfg.GC.Grace), UploadExpiry: time.Duration(cfg.UploadExpiry),
		DeleteUntagged: cfg.GC.DeleteUntagged,
	}
	r.metrics = newMetrics(r)
	return r, nil
}

// Close releases open upload files and the metadata store.
func (r *Registry) Close() error {
	r.uploads.Close()
	return r.meta.Close()
}

// CollectGarbage runs one garbage collection now.
func (r *Registry) CollectGarbage(ctx context.Context, dryRun bool) (gc.Report, error) {
	rep, err := r.collector.Run(ctx, dryRun)
	if err == nil {
		r.metrics.gcRuns.Inc()
		r.metrics.gcBlobs.Add(float64(len(rep.Blobs)))
		r.metrics.gcBytes.Add(float64(rep.BytesFreed))
	}
	return rep, err
}

// RunGC collects garbage every gc.interval until ctx ends.
func (r *Registry) RunGC(ctx context.Context) {
	interval := time.Duration(r.cfg.GC.Interval)
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rep, err := r.CollectGarbage(ctx, false)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("garbage collection failed", "err", err)
			}
			continue
		}
		r.log.Info("garbage collection", "manifests", len(rep.Manifests), "blobs", len(rep.Blobs),
			"bytes_freed", rep.BytesFreed, "uploads", rep.Uploads, "temp_files", rep.TempFiles, "duration", rep.Duration)
	}
}

// Handler returns the registry's HTTP handler: the /v2/ API, the token
// endpoint, /metrics and /healthz.
func (r *Registry) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v2/", http.HandlerFunc(r.serveAPI))
	mux.Handle("/v2", http.HandlerFunc(r.serveAPI))
	if r.auth != nil {
		mux.Handle("/auth/token", r.auth.TokenHandler())
	}
	mux.Handle("/metrics", r.metrics.handler())
	mux.HandleFunc("/healthz", r.serveHealth)
	return r.withAccessLog(mux)
}

func (r *Registry) serveHealth(w http.ResponseWriter, _ *http.Request) {
	if _, _, err := r.meta.Repositories("", 1); err != nil {
		http.Error(w, "metadata store unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}
