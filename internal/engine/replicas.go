package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/engine/health"
	"github.com/berth-dev/berth/internal/model"
)

// The primitives a rolling deploy (internal/deploy) drives: containers of
// one service at a given revision, started, watched and retired one by one.

// ServiceContainers lists a service's containers of every revision that are
// not being removed.
func (e *Engine) ServiceContainers(stack, service string) []Container {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Container
	for _, m := range e.containers {
		if m.Stack == stack && m.Service == service && m.State != StateRemoving && !m.retiring {
			out = append(out, m.Container)
		}
	}
	return out
}

// ResolveImage resolves a reference to an image as a deploy needs it: a
// tag is looked up again at its source (it may have moved since it was
// last pulled), a digest reference is taken from the store when there.
func (e *Engine) ResolveImage(ctx context.Context, ref string) (ImageInfo, error) {
	if strings.Contains(ref, "@sha256:") || strings.HasPrefix(ref, "sha256:") {
		return e.images.Resolve(ctx, ref)
	}
	return e.images.Pull(ctx, ref)
}

// ConfigHash is what a container of svc running the image digest would
// record: equal hashes mean nothing to replace.
func ConfigHash(svc model.ServiceSpec, digest string) string { return configHash(svc, digest) }

// PrepareStack makes sure the stack's network exists and the proxy listens
// on what svcs publish, before any of their new containers start. A port
// that cannot be listened on fails here, with the routing left as it was.
func (e *Engine) PrepareStack(ctx context.Context, stack string, svcs []model.ServiceSpec) error {
	if err := validName("stack", stack); err != nil {
		return err
	}
	if err := e.ensureNetwork(ctx, stack); err != nil {
		return err
	}
	prev := e.routeSpecsOf(stack)
	e.setRouteSpecs(stack, svcs)
	if err := e.syncRoutes(ctx); err != nil {
		e.restoreRouteSpecs(stack, prev)
		e.resync()
		return err
	}
	return nil
}

// StartReplica creates and starts a container of svc at revision in slot,
// running exactly the image digest. It returns once the container runs;
// the proxy sends it traffic only when it is ready.
func (e *Engine) StartReplica(ctx context.Context, stack string, svc model.ServiceSpec, digest string, slot, revision int) (Container, error) {
	img, err := e.images.Resolve(ctx, digest)
	if err != nil {
		return Container{}, fmt.Errorf("service %s: image %s: %w", svc.Name, digest, err)
	}
	m, err := e.createRevision(ctx, stack, svc, img, slot, revision, configHash(svc, img.Digest))
	if err != nil {
		return Container{}, fmt.Errorf("service %s replica %d: %w", svc.Name, slot, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return m.Container, nil
}

// errGone: the container was removed while someone waited on it.
var errGone = errors.New("container removed")

// WaitReady blocks until the container is ready for traffic: healthy when
// it has a health check, running otherwise. It fails as soon as the
// container exits, restarts or turns unhealthy.
func (e *Engine) WaitReady(ctx context.Context, id string) error {
	return e.watchContainer(ctx, id, func(c Container) bool {
		return c.State == StateRunning && (c.Health == "" || c.Health == health.Healthy)
	})
}

// Watch fails as soon as the container exits, restarts or turns unhealthy
// within d; nil when d passes with it fine.
func (e *Engine) Watch(ctx context.Context, id string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	err := e.watchContainer(ctx, id, func(Container) bool { return false })
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return nil
	}
	return err
}

// watchContainer polls the container until done(c) holds, it fails, or ctx
// ends. Polling (every 20 ms) keeps it independent of the supervisor's
// internals; the state it reads is in memory.
func (e *Engine) watchContainer(ctx context.Context, id string, done func(Container) bool) error {
	e.mu.Lock()
	m := e.containers[id]
	var restarts int
	if m != nil {
		restarts = m.Restarts
	}
	e.mu.Unlock()
	if m == nil {
		return errGone
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		e.mu.Lock()
		c, unhealthy := m.Container, m.unhealthy
		_, present := e.containers[id]
		e.mu.Unlock()
		switch {
		case !present:
			return errGone
		case c.Health == health.Unhealthy || unhealthy:
			return errors.New("health check failing (unhealthy)")
		case c.Restarts > restarts || c.State == StateExited || c.State == StateRestarting:
			if c.OOMKilled {
				return errors.New("killed: out of memory")
			}
			return fmt.Errorf("exited with code %d", c.ExitCode)
		case done(c):
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// RemoveContainer drains a container from the proxy, stops it with its
// stop signal and grace period, and releases everything it held.
func (e *Engine) RemoveContainer(ctx context.Context, id string) error { return e.remove(ctx, id) }

// RecordStack remembers a stack's spec after a deploy changed it (what
// scale, restarts after reboot and berth ps work from).
func (e *Engine) RecordStack(spec model.StackSpec) error {
	e.setRouteSpecs(spec.Name, spec.Services)
	return e.rememberStack(spec)
}
