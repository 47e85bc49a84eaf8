package engine

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/berth-dev/berth/internal/engine/api"
)

// SnapshotPruner is an optional method of an Images port: remove the
// unpacked layer snapshots that no stored image and no container needs,
// returning how many went.
type SnapshotPruner interface {
	PruneSnapshots() (int, error)
}

// PruneReport says what Prune removed (and what it could not).
type PruneReport struct {
	Containers []string `json:"containers"`
	Images     []string `json:"images"`    // each image's first name, or its digest
	Snapshots  int      `json:"snapshots"` // -1: the image store cannot prune snapshots
	Volumes    []string `json:"volumes"`
	Errors     []string `json:"errors,omitempty"`
}

// Err is the failures of the report as one error ("prune: a; b"), nil
// when there were none.
func (r PruneReport) Err() error {
	if len(r.Errors) == 0 {
		return nil
	}
	return errors.New("prune: " + strings.Join(r.Errors, "; "))
}

// Prune removes exited containers that no restart policy will start again,
// images no container runs, snapshots nothing needs and, with volumes,
// volumes no container mounts. It carries on past failures, listing them.
func (e *Engine) Prune(ctx context.Context, volumes bool) (PruneReport, error) {
	rep := PruneReport{Containers: []string{}, Images: []string{}, Volumes: []string{}}
	var errs []error
	fail := func(err error) {
		errs = append(errs, err)
		rep.Errors = append(rep.Errors, err.Error())
	}

	// Exited is final: the supervisor sets it only once the restart policy
	// has declined another start (restarting containers are "restarting").
	type victim struct{ id, name string }
	var exited []victim
	e.mu.Lock()
	for id, m := range e.containers {
		if m.State == StateExited {
			exited = append(exited, victim{id, m.Name})
		}
	}
	e.mu.Unlock()
	sort.Slice(exited, func(i, j int) bool { return exited[i].name < exited[j].name })
	for _, v := range exited {
		if err := e.remove(ctx, v.id); err != nil {
			fail(err)
			continue
		}
		rep.Containers = append(rep.Containers, v.name)
	}

	imgs, err := e.Images()
	if err != nil {
		fail(err)
	}
	for _, img := range imgs {
		if len(img.Containers) > 0 {
			continue
		}
		if err := e.images.Remove(img.Digest, false); err != nil {
			fail(err)
			continue
		}
		label := img.Digest
		if len(img.Names) > 0 {
			label = img.Names[0]
		}
		rep.Images = append(rep.Images, label)
	}

	rep.Snapshots = -1
	if sp, ok := e.images.(SnapshotPruner); ok {
		n, err := sp.PruneSnapshots()
		if err != nil {
			fail(err)
		}
		rep.Snapshots = n
	}

	if volumes {
		vs, err := e.Volumes()
		if err != nil {
			fail(err)
		}
		for _, v := range vs {
			if len(v.Containers) > 0 {
				continue
			}
			if err := e.RemoveVolume(v.Name); err != nil {
				fail(err)
				continue
			}
			rep.Volumes = append(rep.Volumes, v.Name)
		}
	}
	return rep, errors.Join(errs...)
}

// ServePrune prunes (api.Prune), volumes too with volumes=1. The report
// carries the failures; the status (207) says whether there were any, so
// the CLI can print what went either way.
func (e *Engine) ServePrune(w http.ResponseWriter, r *http.Request) {
	rep, err := e.Prune(context.WithoutCancel(r.Context()), r.URL.Query().Get("volumes") == "1")
	status := http.StatusOK
	if err != nil {
		status = http.StatusMultiStatus
	}
	api.WriteJSON(w, status, rep)
}
