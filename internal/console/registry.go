package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
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
	data := map[string]any{"Session": current(r), "Repository": repo, "Tags": tags, "Manifests": ms, "Done": r.URL.Query().Get("done")}
	for _, m := range ms {
		refs, err := s.cfg.Ports.Registry.Referrers(r.Context(), repo, m.Digest)
		if err != nil {
			data["Error"] = err.Error()
			break
		}
		m.Referrers = refs
	}
	data["Promotions"], data["Environments"] = promotions(ms)
	s.render(w, http.StatusOK, "repository.html", data)
}

// environment is an environment promotion records name, and the last
// promotion into it (nil: it was only ever a source).
type environment struct {
	Name string
	Last *Promotion
}

// promotions gathers the promotion records among the manifests'
// referrers, newest first, and the environments they name (sorted), each
// with the newest promotion into it.
func promotions(ms []*taggedManifest) ([]Promotion, []environment) {
	var ps []Promotion
	for _, m := range ms {
		for _, r := range m.Referrers {
			if r.Promotion != nil {
				ps = append(ps, *r.Promotion)
			}
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Time.After(ps[j].Time) })
	byName := map[string]*environment{}
	var envs []environment
	add := func(name string) *environment {
		if e, ok := byName[name]; ok {
			return e
		}
		byName[name] = &environment{Name: name}
		return byName[name]
	}
	for i := range ps {
		if ps[i].FromEnv != "" {
			add(ps[i].FromEnv)
		}
		if ps[i].ToEnv != "" {
			if e := add(ps[i].ToEnv); e.Last == nil {
				e.Last = &ps[i] // newest first
			}
		}
	}
	for _, e := range byName {
		envs = append(envs, *e)
	}
	sort.Slice(envs, func(i, j int) bool { return envs[i].Name < envs[j].Name })
	return ps, envs
}

// deleteRequest reads the repository and reference of a delete form.
func deleteRequest(r *http.Request) (repo, ref string, ok bool) {
	repo, ref = r.PostFormValue("repo"), r.PostFormValue("ref")
	return repo, ref, repo != "" && ref != ""
}

// confirmDelete answers the repository page's delete button (a POST with
// the CSRF token) with a page that says what will go: the tag and the
// manifest it names, or the manifest and every tag naming it. Only that
// page's button deletes.
func (s *Server) confirmDelete(w http.ResponseWriter, r *http.Request) {
	repo, ref, ok := deleteRequest(r)
	if !ok {
		http.Error(w, "repo and ref are required", http.StatusBadRequest)
		return
	}
	back := "/registry/repository?name=" + url.QueryEscape(repo)
	tags, err := s.cfg.Ports.Registry.Tags(r.Context(), repo)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, ErrNoRepository) {
			status = http.StatusNotFound
		}
		s.render(w, status, "error.html", map[string]any{"Session": current(r), "Title": "Delete from " + repo, "Error": err.Error(), "Back": "/registry"})
		return
	}
	isDigest := strings.Contains(ref, ":")
	digest := ""
	var named []string // the tags the deletion removes
	for _, t := range tags {
		if (isDigest && t.Digest == ref) || (!isDigest && t.Name == ref) {
			digest = t.Digest
			named = append(named, t.Name)
		}
	}
	if isDigest {
		digest = ref
	} else if digest == "" {
		s.render(w, http.StatusNotFound, "error.html", map[string]any{"Session": current(r), "Title": "Delete from " + repo, "Error": "repository " + repo + " has no tag " + ref, "Back": back})
		return
	}
	s.render(w, http.StatusOK, "delete.html", map[string]any{"Session": current(r), "Repository": repo, "Ref": ref, "IsDigest": isDigest, "Digest": digest, "Tags": named, "Back": back})
}

// deleteRef deletes what the confirmation page names; the registry's
// refusal (an immutable tag) is shown on the page.
func (s *Server) deleteRef(w http.ResponseWriter, r *http.Request) {
	repo, ref, ok := deleteRequest(r)
	if !ok {
		http.Error(w, "repo and ref are required", http.StatusBadRequest)
		return
	}
	back := "/registry/repository?name=" + url.QueryEscape(repo)
	s.cfg.Log.Info("console: registry delete", "user", current(r).User, "repository", repo, "reference", ref)
	if err := s.cfg.Ports.Registry.Delete(context.WithoutCancel(r.Context()), repo, ref); err != nil {
		status := http.StatusConflict
		if errors.Is(err, ErrNoRepository) {
			status = http.StatusNotFound
		}
		s.render(w, status, "error.html", map[string]any{"Session": current(r), "Title": "Delete failed", "Error": err.Error(), "Back": back})
		return
	}
	http.Redirect(w, r, back+"&done="+url.QueryEscape("deleted "+repo+"@"+ref), http.StatusSeeOther)
}
