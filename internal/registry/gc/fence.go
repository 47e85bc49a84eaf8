// Package gc collects garbage online: blobs no manifest references and,
// when configured, manifests nothing keeps, while pushes go on.
package gc

import (
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
)

// Fence keeps the collector from deleting a blob that a push relies on.
//
// Every request that makes a client rely on a blob (an upload that ends,
// a mount, a HEAD that lets a client skip an upload, a manifest PUT that
// references it) runs inside Hold and Touches the blob. The collector
// deletes only under the exclusive lock and only blobs untouched for the
// grace period, so a blob is never deleted between a client's check and the
// manifest that references it, unless that push took longer than the grace
// period (and then the manifest PUT fails cleanly with MANIFEST_BLOB_UNKNOWN).
type Fence struct {
	mu      sync.RWMutex
	touched sync.Map // digest.Digest -> int64 unix nanoseconds
	started time.Time
}

// NewFence returns a fence; blobs count as touched when it was created,
// since what clients saw before a restart is unknown.
func NewFence() *Fence { return &Fence{started: time.Now()} }

// Hold blocks collection until the returned func is called.
func (f *Fence) Hold() (release func()) {
	f.mu.RLock()
	return f.mu.RUnlock
}

// Touch records that a client relies on d now.
func (f *Fence) Touch(d digest.Digest) {
	f.touched.Store(d, time.Now().UnixNano())
}

// lastTouch returns when d was last touched (at least the fence's start).
func (f *Fence) lastTouch(d digest.Digest) time.Time {
	if v, ok := f.touched.Load(d); ok {
		return time.Unix(0, v.(int64))
	}
	return f.started
}

// forgetBefore drops touch records older than cutoff, bounding the map.
func (f *Fence) forgetBefore(cutoff time.Time) {
	c := cutoff.UnixNano()
	f.touched.Range(func(k, v any) bool {
		if v.(int64) < c {
			f.touched.Delete(k)
		}
		return true
	})
}

func (f *Fence) lock() func() {
	f.mu.Lock()
	return f.mu.Unlock
}
