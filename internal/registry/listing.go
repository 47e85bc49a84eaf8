package registry

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/registry/errcode"
	"github.com/berth-dev/berth/internal/registry/metadata"
)

// pageParams reads the n and last query parameters of a paginated listing.
// present reports whether n was given (n=0 then means an empty page).
func pageParams(req *http.Request) (n int, last string, present bool, err error) {
	q := req.URL.Query()
	last = q.Get("last")
	if s := q.Get("n"); s != "" {
		v, perr := strconv.Atoi(s)
		if perr != nil || v < 0 {
			return 0, "", false, errcode.New(errcode.Code{Name: "PAGINATION_NUMBER_INVALID", Status: http.StatusBadRequest}, "n=%q is not a non-negative number", s)
		}
		return v, last, true, nil
	}
	return 0, last, false, nil
}

// setNextLink sets the RFC 5988 Link header for the page after last.
func setNextLink(w http.ResponseWriter, path string, n int, last string) {
	q := url.Values{}
	q.Set("last", last)
	q.Set("n", strconv.Itoa(n))
	w.Header().Set("Link", "<"+path+"?"+q.Encode()+`>; rel="next"`)
}

func writeJSON(w http.ResponseWriter, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		errcode.Write(w, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (r *Registry) serveTags(w http.ResponseWriter, req *http.Request, rt route) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		methodNotAllowed(w)
		return
	}
	n, last, present, err := pageParams(req)
	if err != nil {
		errcode.Write(w, err)
		return
	}
	var tags []string
	var more bool
	if present && n == 0 {
		if !r.meta.RepoExists(rt.repo) {
			err = metadata.ErrNotFound
		}
		tags = []string{}
	} else {
		tags, more, err = r.meta.Tags(rt.repo, last, n)
	}
	if errors.Is(err, metadata.ErrNotFound) {
		errcode.Write(w, &errcode.Error{Code: errcode.NameUnknown, Message: "repository name not known to registry", Detail: map[string]string{"name": rt.repo}})
		return
	}
	if err != nil {
		errcode.Write(w, err)
		return
	}
	if more {
		setNextLink(w, req.URL.Path, n, tags[len(tags)-1])
	}
	writeJSON(w, "application/json", struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{rt.repo, tags})
}

func (r *Registry) serveCatalog(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		methodNotAllowed(w)
		return
	}
	n, last, present, err := pageParams(req)
	if err != nil {
		errcode.Write(w, err)
		return
	}
	repos := []string{}
	var more bool
	if !present || n > 0 {
		repos, more, err = r.meta.Repositories(last, n)
		if err != nil {
			errcode.Write(w, err)
			return
		}
	}
	if more {
		setNextLink(w, req.URL.Path, n, repos[len(repos)-1])
	}
	writeJSON(w, "application/json", struct {
		Repositories []string `json:"repositories"`
	}{repos})
}

// serveReferrers answers the referrers API: an image index of the
// manifests whose subject is the given digest, possibly empty, never 404.
func (r *Registry) serveReferrers(w http.ResponseWriter, req *http.Request, rt route) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		methodNotAllowed(w)
		return
	}
	d, err := parseDigest(rt.ref)
	if err != nil {
		errcode.Write(w, err)
		return
	}
	refs, err := r.meta.Referrers(rt.repo, d)
	if err != nil {
		errcode.Write(w, err)
		return
	}
	filter, filtered := req.URL.Query()["artifactType"]
	want := map[string]bool{}
	for _, f := range filter {
		want[f] = true
	}
	idx := v1.Index{MediaType: v1.MediaTypeImageIndex, Manifests: []v1.Descriptor{}}
	idx.SchemaVersion = 2
	for _, m := range refs {
		if filtered && !want[m.ArtifactType] {
			continue
		}
		idx.Manifests = append(idx.Manifests, v1.Descriptor{
			MediaType:    m.MediaType,
			Digest:       m.Digest,
			Size:         m.Size,
			ArtifactType: m.ArtifactType,
			Annotations:  m.Annotations,
		})
	}
	if filtered {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	writeJSON(w, v1.MediaTypeImageIndex, idx)
}
