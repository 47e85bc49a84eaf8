package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/engine/api"
	"github.com/berth-dev/berth/internal/engine/logs"
	"github.com/berth-dev/berth/internal/model"
)

// LogFile is where a container's supervisor writes its JSON-lines log.
func (e *Engine) LogFile(id string) string {
	return filepath.Join(e.containersDir(), id, "container.log")
}

// The engine's HTTP handlers: the route table (api.Routes) maps the
// endpoints to them; the daemon serves it.

// ServeUp brings a stack up (api.StackUp) and answers its containers. The
// stack keeps coming up when the client goes away mid-up.
func (e *Engine) ServeUp(w http.ResponseWriter, r *http.Request) {
	var spec model.StackSpec
	if err := json.NewDecoder(r.Body).Decode(&spec); err != nil {
		api.WriteError(w, http.StatusBadRequest, fmt.Errorf("stack: %w", err))
		return
	}
	spec.Name = r.PathValue("name")
	if err := e.Up(context.WithoutCancel(r.Context()), spec); err != nil {
		api.WriteError(w, http.StatusConflict, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, e.Containers(spec.Name))
}

// ServeDown takes a stack down (api.StackDown), its volumes too with
// volumes=1.
func (e *Engine) ServeDown(w http.ResponseWriter, r *http.Request) {
	var grace time.Duration
	if s := r.URL.Query().Get("timeout"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			api.WriteError(w, http.StatusBadRequest, fmt.Errorf("timeout=%q: want a non-negative duration like 30s", s))
			return
		}
		grace = d
	}
	if err := e.DownWithin(context.WithoutCancel(r.Context()), r.PathValue("name"), r.URL.Query().Get("volumes") == "1", grace); err != nil {
		api.WriteError(w, http.StatusInternalServerError, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]string{"status": "removed"})
}

// ServeContainers lists the containers (api.ListContainers), of one stack
// with stack=NAME.
func (e *Engine) ServeContainers(w http.ResponseWriter, r *http.Request) {
	api.WriteJSON(w, http.StatusOK, e.Containers(r.URL.Query().Get("stack")))
}

// ServeLogs streams the logs of a stack's containers (optionally some
// services'), merged in time order, as ndjson logs.Entry values.
func (e *Engine) ServeLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var o logs.Options
	if s := q.Get("tail"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			api.WriteError(w, http.StatusBadRequest, fmt.Errorf("tail=%q: want a non-negative number", s))
			return
		}
		o.Tail = n
	}
	if s := q.Get("since"); s != "" {
		t, err := parseSince(s)
		if err != nil {
			api.WriteError(w, http.StatusBadRequest, err)
			return
		}
		o.Since = t
	}
	// service= may repeat (berth logs web worker); none: every service.
	services := q["service"]
	var cs []Container
	for _, c := range e.Containers(r.PathValue("name")) {
		if len(services) == 0 || slices.Contains(services, c.Service) {
			cs = append(cs, c)
		}
	}
	for _, service := range append(slices.Clone(services), "") {
		if !slices.ContainsFunc(cs, func(c Container) bool { return service == "" || c.Service == service }) {
			api.WriteError(w, http.StatusNotFound, fmt.Errorf("no containers in stack %q%s", r.PathValue("name"), forService(service)))
			return
		}
	}
	sources := map[string][]logs.Entry{}
	for _, c := range cs {
		entries, err := logs.ReadAll(e.LogFile(c.ID), o)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			api.WriteError(w, http.StatusInternalServerError, err)
			return
		}
		sources[c.Name] = entries
	}
	ew := api.NewEventWriter(w)
	for _, en := range logs.Merge(sources) {
		if ew.Send(en) != nil {
			return
		}
	}
	if q.Get("follow") != "1" {
		return
	}
	out := make(chan logs.Entry, 256)
	ctx := r.Context()
	for _, c := range cs {
		go func(c Container) {
			_ = logs.Follow(ctx, e.LogFile(c.ID), logs.Options{}, tagged(ctx, out, c.Name))
		}(c)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case en := <-out:
			if ew.Send(en) != nil {
				return
			}
		}
	}
}

// tagged returns a channel whose entries get source set and go to out.
func tagged(ctx context.Context, out chan<- logs.Entry, source string) chan<- logs.Entry {
	in := make(chan logs.Entry, 64)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case en := <-in:
				en.Source = source
				select {
				case out <- en:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return in
}

func forService(s string) string {
	if s == "" {
		return ""
	}
	return " for service " + strconv.Quote(s)
}

// parseSince reads an RFC 3339 time or a duration ago ("10m").
func parseSince(s string) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("since=%q: want a duration like 10m or an RFC 3339 time", s)
}
