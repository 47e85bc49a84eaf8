package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/berth-dev/berth/internal/engine/api"
	"github.com/berth-dev/berth/internal/progress"
)

// Image is a stored image with the containers that run it (berth images).
type Image struct {
	ImageSummary
	Containers []string `json:"containers,omitempty"`
}

// PullRequest is POST /v1/images/pull.
type PullRequest struct {
	Ref string `json:"ref"`
}

// PullEvent is one line of the pull stream.
type PullEvent struct {
	Status   string          `json:"status"` // pulling, progress (of a layer: Progress), pulled
	Ref      string          `json:"ref"`
	Digest   string          `json:"digest,omitempty"` // pulled: the image's
	Progress *progress.Event `json:"progress,omitempty"`
}

// imageUsers maps image digest → names of the containers running it.
func (e *Engine) imageUsers() map[string][]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	users := map[string][]string{}
	for _, m := range e.containers {
		users[m.Image] = append(users[m.Image], m.Name)
	}
	for _, u := range users {
		sort.Strings(u)
	}
	return users
}

// Images lists the stored images with their users.
func (e *Engine) Images() ([]Image, error) {
	sums, err := e.images.List()
	if err != nil {
		return nil, err
	}
	users := e.imageUsers()
	out := make([]Image, len(sums))
	for i, s := range sums {
		out[i] = Image{ImageSummary: s, Containers: users[s.Digest]}
	}
	return out, nil
}

// RemoveImage deletes an image (or one of its names). Unless force, an
// image a container runs is refused with an error naming the containers.
func (e *Engine) RemoveImage(ref string, force bool) error {
	if strings.TrimSpace(ref) == "" {
		return inputError{errors.New("image reference is empty")}
	}
	if !force {
		// The engine's own records name the containers; the store's check
		// below (by mount) backs this up for references written
		// differently from the stored names.
		if users := e.usersOfRef(ref); len(users) > 0 {
			return inUseError(ref, users)
		}
	}
	err := e.images.Remove(ref, force)
	if err != nil && !force {
		if users := e.containersNamedIn(err.Error()); len(users) > 0 {
			return inUseError(ref, users)
		}
	}
	return err
}

func inUseError(ref string, users []string) error {
	return fmt.Errorf("image %s is in use by container(s) %s: remove them first (berth down) or force it with berth rmi -f",
		ref, strings.Join(users, ", "))
}

// usersOfRef returns the containers running the image ref names, matching
// ref against stored names and digests as written (no normalisation) and
// against the references services were given.
func (e *Engine) usersOfRef(ref string) []string {
	digests := map[string]bool{}
	if sums, err := e.images.List(); err == nil {
		for _, s := range sums {
			if refMatches(ref, s) {
				digests[s.Digest] = true
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, m := range e.containers {
		if digests[m.Image] || m.Spec.Image == ref || m.Image == ref {
			out = append(out, m.Name)
		}
	}
	sort.Strings(out)
	return out
}

func refMatches(ref string, s ImageSummary) bool {
	for _, n := range s.Names {
		if n == ref {
			return true
		}
	}
	if _, d, ok := strings.Cut(ref, "@"); ok {
		ref = d
	}
	hex := strings.TrimPrefix(ref, "sha256:")
	// A digest prefix must be long enough not to be a word by chance.
	return len(hex) >= 12 && strings.HasPrefix(s.Digest, "sha256:"+hex)
}

// containersNamedIn returns the names of the containers whose IDs appear
// in msg (the store reports users by container ID).
func (e *Engine) containersNamedIn(msg string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for id, m := range e.containers {
		if strings.Contains(msg, id) {
			out = append(out, m.Name)
		}
	}
	sort.Strings(out)
	return out
}

// ServeImages lists the stored images (api.ListImages).
func (e *Engine) ServeImages(w http.ResponseWriter, r *http.Request) {
	imgs, err := e.Images()
	if err != nil {
		api.WriteError(w, http.StatusInternalServerError, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, imgs)
}

// ServePull pulls an image (api.PullImage), streaming PullEvents.
func (e *Engine) ServePull(w http.ResponseWriter, r *http.Request) {
	var req PullRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		api.WriteError(w, http.StatusBadRequest, fmt.Errorf("pull: %w", err))
		return
	}
	if strings.TrimSpace(req.Ref) == "" {
		api.WriteError(w, http.StatusBadRequest, errors.New("pull: ref is empty"))
		return
	}
	ew := api.NewEventWriter(w)
	_ = ew.Send(PullEvent{Status: "pulling", Ref: req.Ref})
	// A client that goes away cancels the pull: nothing depends on it.
	// The store reports each layer's bytes (sequentially) to the stream.
	ctx := progress.NewContext(r.Context(), func(p progress.Event) {
		_ = ew.Send(PullEvent{Status: "progress", Ref: req.Ref, Progress: &p})
	})
	info, err := e.images.Pull(ctx, req.Ref)
	if err != nil {
		ew.Fail(err) // the store names the reference
		return
	}
	_ = ew.Send(PullEvent{Status: "pulled", Ref: req.Ref, Digest: info.Digest})
}

// ServeRemoveImage removes an image or one of its names (api.RemoveImage,
// {ref...}: references contain slashes — registry paths, oci-layout
// directories —; the client escapes them).
func (e *Engine) ServeRemoveImage(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	err := e.RemoveImage(ref, r.URL.Query().Get("force") == "1")
	switch {
	case err == nil:
		api.WriteJSON(w, http.StatusOK, map[string]string{"removed": ref})
	case errors.As(err, new(inputError)):
		api.WriteError(w, http.StatusBadRequest, err)
	default:
		api.WriteError(w, http.StatusConflict, err)
	}
}
