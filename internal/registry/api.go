package registry

import (
	"net/http"

	"github.com/berth-dev/berth/internal/registry/auth"
	"github.com/berth-dev/berth/internal/registry/errcode"
	"github.com/berth-dev/berth/internal/registry/names"
)

// serveAPI routes a /v2/ request: parse the path, validate the repository
// name, authorize, then dispatch on the endpoint and method.
func (r *Registry) serveAPI(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	rt := parseRoute(req.URL.Path)
	setRouteLabel(req, rt.kind)
	if rt.kind == routeNone {
		errcode.Write(w, errcode.New(errcode.NameInvalid, "no such endpoint: %s", req.URL.Path))
		return
	}
	if rt.repo != "" || rt.kind >= routeManifest {
		if err := names.ValidateRepository(rt.repo); err != nil {
			setInvalidName(req)
			errcode.Write(w, &errcode.Error{Code: errcode.NameInvalid, Message: err.Error(), Detail: map[string]string{"name": rt.repo}})
			return
		}
	}
	need := requiredScopes(rt, req.Method)
	if r.auth != nil {
		user, err := r.auth.Authorize(req, need)
		if err != nil {
			r.auth.WriteError(w, req, need, err)
			return
		}
		setUser(req, user)
	}
	switch rt.kind {
	case routeBase:
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			methodNotAllowed(w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "2")
		w.WriteHeader(http.StatusOK)
		if req.Method == http.MethodGet {
			_, _ = w.Write([]byte("{}"))
		}
	case routeCatalog:
		r.serveCatalog(w, req)
	case routeTags:
		r.serveTags(w, req, rt)
	case routeReferrers:
		r.serveReferrers(w, req, rt)
	case routeManifest:
		switch req.Method {
		case http.MethodGet, http.MethodHead:
			r.getManifest(w, req, rt)
		case http.MethodPut:
			r.putManifest(w, req, rt)
		case http.MethodDelete:
			r.deleteManifest(w, req, rt)
		default:
			methodNotAllowed(w)
		}
	case routeBlob:
		switch req.Method {
		case http.MethodGet, http.MethodHead:
			r.getBlob(w, req, rt)
		case http.MethodDelete:
			r.deleteBlob(w, req, rt)
		default:
			methodNotAllowed(w)
		}
	case routeUploadStart:
		if req.Method != http.MethodPost {
			methodNotAllowed(w)
			return
		}
		r.startUpload(w, req, rt)
	case routeUpload:
		switch req.Method {
		case http.MethodPatch:
			r.patchUpload(w, req, rt)
		case http.MethodPut:
			r.putUpload(w, req, rt)
		case http.MethodGet:
			r.uploadStatus(w, req, rt)
		case http.MethodDelete:
			r.cancelUpload(w, req, rt)
		default:
			methodNotAllowed(w)
		}
	}
}

func methodNotAllowed(w http.ResponseWriter) {
	errcode.Write(w, errcode.New(errcode.Unsupported, "method not allowed on this endpoint"))
}

// requiredScopes says what a request needs, in the Docker token scope form
// that the challenge and the token endpoint use.
func requiredScopes(rt route, method string) []auth.Scope {
	switch rt.kind {
	case routeBase:
		return nil
	case routeCatalog:
		return []auth.Scope{{Type: "registry", Name: "catalog", Actions: []string{"*"}}}
	}
	actions := []string{"pull"}
	switch {
	case method == http.MethodDelete && (rt.kind == routeManifest || rt.kind == routeBlob):
		actions = []string{"delete"}
	case rt.kind == routeUploadStart || rt.kind == routeUpload || (rt.kind == routeManifest && method == http.MethodPut):
		actions = []string{"pull", "push"}
	}
	return []auth.Scope{{Type: "repository", Name: rt.repo, Actions: actions}}
}
