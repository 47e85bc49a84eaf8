// Package deploy rolls a service from one revision to the next without
// dropping a request: it starts new replicas, waits until they are ready,
// lets the proxy switch to them, drains and removes the old ones, watches
// the new ones for a while, and rolls back on its own when they fail. It
// keeps every service's revisions (image digest, config hash, time,
// outcome) in a history that survives daemon restarts.
//
// The rollout is pure logic over the Cluster port, which the engine
// implements; it is tested against a fake Cluster here and against the
// real engine in test/engine.
package deploy

import (
	"context"
	"time"

	"github.com/berth-dev/berth/internal/model"
)

// Replica is one container of a service as a rollout sees it.
type Replica struct {
	ID       string
	Slot     int // replica number, 1..N
	Revision int // the revision it runs; 0 = started before deploys were recorded
}

// Cluster is what a rollout drives: the engine's containers of one stack.
type Cluster interface {
	// Replicas lists the service's containers, of every revision, that are
	// not being removed.
	Replicas(service string) []Replica
	// Start creates and starts a container of rev in slot and returns at
	// once (it is not ready yet; the proxy sends it nothing until it is).
	Start(ctx context.Context, rev Revision, slot int) (id string, err error)
	// WaitReady blocks until the container is ready for traffic: healthy
	// when it has a health check, running otherwise. It fails when the
	// container exits or turns unhealthy first, or ctx ends.
	WaitReady(ctx context.Context, id string) error
	// Watch fails as soon as the container exits or turns unhealthy within
	// d; it returns nil when d passes with the container fine.
	Watch(ctx context.Context, id string, d time.Duration) error
	// Retire takes the container out of the proxy, waits for its in-flight
	// requests (drain), stops it with its stop signal and grace period, and
	// removes it.
	Retire(ctx context.Context, id string) error
	// HasWritableVolumes reports whether the service mounts a volume or bind
	// read-write (its default update order is then stop-first).
	HasWritableVolumes(svc model.ServiceSpec) bool
}

// Revision is one deployed (or attempted) version of a service.
type Revision struct {
	Number     int               `json:"revision"`
	Service    string            `json:"service"`
	Image      string            `json:"image"`  // the reference as given (tag)
	Digest     string            `json:"digest"` // what the tag resolved to when deployed: pinned
	ConfigHash string            `json:"configHash"`
	Spec       model.ServiceSpec `json:"spec"` // Spec.Image is the pinned reference (repo@digest)
	Created    time.Time         `json:"created"`
	Finished   time.Time         `json:"finished,omitzero"`
	Outcome    string            `json:"outcome"` // Outcome* constants
	Reason     string            `json:"reason,omitempty"`
	// RollbackOf: this revision restores revision RollbackOf's spec (berth
	// rollback, or an automatic rollback).
	RollbackOf int `json:"rollbackOf,omitempty"`
}

// Revision outcomes.
const (
	OutcomeInProgress  = "in_progress"
	OutcomeDeployed    = "deployed"    // current, or was until a later one
	OutcomeRolledBack  = "rolled_back" // failed; the previous revision was restored
	OutcomeFailed      = "failed"      // failed; failure_action pause/continue left it as is
	OutcomeInterrupted = "interrupted" // the daemon stopped during the rollout
)
