package console

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"sync"

	"github.com/berth-dev/berth/internal/inspect"
)

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// reports caches image reports by digest: an image's content never
// changes, and a report reads every layer.
type reports struct {
	mu    sync.Mutex
	m     map[string]*inspect.Report
	order []string
}

const reportCache = 16

func (c *reports) get(ctx context.Context, src Images, digest string) (*inspect.Report, error) {
	c.mu.Lock()
	r, ok := c.m[digest]
	c.mu.Unlock()
	if ok {
		return r, nil
	}
	r, err := src.Inspect(ctx, digest)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*inspect.Report{}
	}
	if _, ok := c.m[digest]; !ok {
		c.m[digest] = r
		c.order = append(c.order, digest)
		if len(c.order) > reportCache {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
	}
	return r, nil
}

// ErrNoImage is what an Images port returns for an image it does not
// have (the page answers 404).
var ErrNoImage = errors.New("no such image")

func (s *Server) imagePage(w http.ResponseWriter, r *http.Request) {
	digest := r.PathValue("digest")
	if s.cfg.Ports.Images == nil {
		http.Error(w, "this console shows no images", http.StatusNotFound)
		return
	}
	if !digestRE.MatchString(digest) {
		http.Error(w, "want an image digest (sha256:<64 hex>)", http.StatusBadRequest)
		return
	}
	rep, err := s.reports.get(r.Context(), s.cfg.Ports.Images, digest)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, ErrNoImage) {
			status = http.StatusNotFound
		}
		s.render(w, status, "error.html", map[string]any{"Session": current(r), "Title": "Image " + digest, "Error": err.Error(), "Back": "/"})
		return
	}
	s.render(w, http.StatusOK, "image.html", map[string]any{"Session": current(r), "Report": rep})
}
