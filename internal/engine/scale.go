package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/berth-dev/berth/internal/engine/api"
	"github.com/berth-dev/berth/internal/model"
)

// ErrUnknownStack means no spec is recorded for a stack (never brought up,
// or taken down).
var ErrUnknownStack = errors.New("unknown stack")

// Scale changes the replica counts of services of a running stack (service
// → count, each at least 1) and records the new counts. Only the named
// services are touched; their existing replicas keep running the image
// digest they run now, so scaling never replaces a container.
func (e *Engine) Scale(ctx context.Context, stack string, replicas map[string]int) error {
	spec, ok := e.Stack(stack)
	if !ok {
		return fmt.Errorf("%w %q: bring it up with berth up first", ErrUnknownStack, stack)
	}
	if len(replicas) == 0 {
		return inputError{errors.New("scale: no services given (want SERVICE=N)")}
	}
	// Copy before changing: the recorded spec's slice is shared.
	spec.Services = append([]model.ServiceSpec(nil), spec.Services...)
	index := map[string]int{}
	var names []string
	for i, s := range spec.Services {
		index[s.Name] = i
		names = append(names, s.Name)
	}
	for svc, n := range replicas {
		i, ok := index[svc]
		if !ok {
			return inputError{fmt.Errorf("stack %s has no service %q (services: %s)", stack, svc, strings.Join(names, ", "))}
		}
		if n < 1 {
			// Replicas 0 means "unset" (1) in a model.ServiceSpec; stopping a
			// service altogether is berth down's job.
			return inputError{fmt.Errorf("service %s: replicas %d: want at least 1", svc, n)}
		}
		spec.Services[i].Replicas = n
	}
	if err := e.ensureNetwork(ctx, stack); err != nil {
		return err
	}
	for _, svc := range spec.Services { // dependency order
		if _, ok := replicas[svc.Name]; !ok {
			continue
		}
		img, err := e.currentImage(ctx, stack, svc)
		if err != nil {
			return fmt.Errorf("service %s: image %s: %w", svc.Name, svc.Image, err)
		}
		if err := e.upService(ctx, stack, svc, img); err != nil {
			return fmt.Errorf("service %s: %w", svc.Name, err)
		}
	}
	return e.rememberStack(spec)
}

// currentImage is the image a service's replicas run now (so new replicas
// match them even if the reference has since been re-pulled to another
// digest), or the reference resolved when it has no replicas.
func (e *Engine) currentImage(ctx context.Context, stack string, svc model.ServiceSpec) (ImageInfo, error) {
	existing := e.byService(stack, svc.Name)
	ns := make([]int, 0, len(existing))
	for n := range existing {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	if len(ns) > 0 {
		e.mu.Lock()
		digest := existing[ns[0]].Image
		e.mu.Unlock()
		return e.images.Resolve(ctx, digest)
	}
	return e.images.Resolve(ctx, svc.Image)
}

// inputError marks a request the client got wrong (400, not 409).
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

// ServeScale changes replica counts (api.StackScale) and answers the
// stack's containers. Like up, the change completes when the client goes
// away.
func (e *Engine) ServeScale(w http.ResponseWriter, r *http.Request) {
	var replicas map[string]int
	if err := json.NewDecoder(r.Body).Decode(&replicas); err != nil {
		api.WriteError(w, http.StatusBadRequest, fmt.Errorf("scale: want a JSON object of service → replicas: %w", err))
		return
	}
	name := r.PathValue("name")
	err := e.Scale(context.WithoutCancel(r.Context()), name, replicas)
	switch {
	case errors.Is(err, ErrUnknownStack):
		api.WriteError(w, http.StatusNotFound, err)
	case errors.As(err, new(inputError)):
		api.WriteError(w, http.StatusBadRequest, err)
	case err != nil:
		api.WriteError(w, http.StatusConflict, err)
	default:
		api.WriteJSON(w, http.StatusOK, e.Containers(name))
	}
}
