package console

import (
	"errors"
	"net/http"
)

// ErrNoRepository is what a Registry port returns for a repository it
// does not have (the page answers 404).
var ErrNoRepository = errors.New("no such repository")

func (s *Server) repositoriesPage(w http.ResponseWriter, r *http.Request) {
	repos, err := s.cfg.Ports.Registry.Repositories(r.Context())
	data := map[string]any{"Session": current(r), "Repositories": repos}
	if err != nil {
		data["Error"] = err.Error()
	}
	s.render(w, http.StatusOK, "repositories.html", data)
}

// taggedManifest is a manifest of a repository with its tags and referrers.
type taggedManifest struct {
	Digest    string
	Tags      []Tag
	Referrers []Referrer
}

func (s *Server) repositoryPage(w http.ResponseWriter, r *http.Request) {
	repo := r.URL.Query().Get("name")
	if repo == "" {
		http.Redirect(w, r, "/registry", http.StatusSeeOther)
		return
	}
	tags, err := s.cfg.Ports.Registry.Tags(r.Context(), repo)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, ErrNoRepository) {
			status = http.StatusNotFound
		}
		s.render(w, status, "error.html", map[string]any{"Session": current(r), "Title": "Repository " + repo, "Error": err.Error(), "Back": "/registry"})
		return
	}
	// One entry per manifest, in the order of its first tag.
	var ms []*taggedManifest
	byDigest := map[string]*taggedManifest{}
	for _, t := range tags {
		m, ok := byDigest[t.Digest]
		if !ok {
			m = &taggedManifest{Digest: t.Digest}
			byDigest[t.Digest] = m
			ms = append(ms, m)
		}
		m.Tags = append(m.Tags, t)
	}
	data := map[string]any{"Session": current(r), "Repository": repo, "Tags": tags, "Manifests": ms}
	for _, m := range ms {
		refs, err := s.cfg.Ports.Registry.Referrers(r.Context(), repo, m.Digest)
		if err != nil {
			data["Error"] = err.Error()
			break
		}
		m.Referrers = refs
	}
	s.render(w, http.StatusOK, "repository.html", data)
}
