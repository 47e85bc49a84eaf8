package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/berth-dev/berth/internal/inspect"
)

// diffPage compares two revisions of a service: the images' files, Debian
// packages and configuration (what berth diff computes) and whether the
// deploy configuration changed (its hash).
func (s *Server) diffPage(w http.ResponseWriter, r *http.Request) {
	stack, service := r.PathValue("stack"), r.PathValue("service")
	back := "/stacks/" + url.PathEscape(stack) + "/services/" + url.PathEscape(service)
	if s.cfg.Ports.Images == nil {
		http.Error(w, "this console shows no images", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	from, err1 := strconv.Atoi(q.Get("from"))
	to, err2 := strconv.Atoi(q.Get("to"))
	if err1 != nil || err2 != nil || from < 1 || to < 1 {
		http.Error(w, "from="+q.Get("from")+"&to="+q.Get("to")+": want two revision numbers", http.StatusBadRequest)
		return
	}
	revs, err := s.cfg.Ports.Deploys.Revisions(r.Context(), stack, service)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var a, b *Revision
	for i := range revs {
		switch revs[i].Number {
		case from:
			a = &revs[i]
		case to:
			b = &revs[i]
		}
	}
	if from == to {
		b = a
	}
	if a == nil || b == nil {
		http.Error(w, "service "+service+" has no revision "+strconv.Itoa(map[bool]int{true: from, false: to}[a == nil]), http.StatusNotFound)
		return
	}
	data := map[string]any{"Session": current(r), "Stack": stack, "Service": service, "From": a, "To": b, "Back": back, "Revisions": revs}
	if a.Digest == b.Digest {
		data["Report"] = &inspect.DiffReport{From: a.Digest, To: b.Digest}
	} else {
		rep, err := s.cfg.Ports.Images.Diff(r.Context(), a.Digest, b.Digest)
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, ErrNoImage) {
				status = http.StatusNotFound
			}
			s.render(w, status, "error.html", map[string]any{"Session": current(r), "Title": "Diff of revisions " + strconv.Itoa(from) + " and " + strconv.Itoa(to), "Error": err.Error(), "Back": back})
			return
		}
		data["Report"] = rep
	}
	s.render(w, http.StatusOK, "diff.html", data)
}
