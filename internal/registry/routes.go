package registry

import (
	"strings"
)

// routeKind names the API endpoint a request path addresses.
type routeKind int

const (
	routeNone routeKind = iota
	routeBase
	routeCatalog
	routeManifest
	routeBlob
	routeUploadStart
	routeUpload
	routeTags
	routeReferrers
	// routeInvalidName labels requests whose repository name is invalid.
	routeInvalidName
)

func (k routeKind) String() string {
	return [...]string{"other", "base", "catalog", "manifest", "blob", "upload_start", "upload", "tags", "referrers", "invalid"}[k]
}

// route is a parsed /v2/ path. Repository names may contain '/', so the
// path is matched from its end: the last segments say what is addressed and
// everything before them is the name.
type route struct {
	kind routeKind
	repo string
	ref  string // manifest reference, blob or subject digest, upload ID
}

func parseRoute(path string) route {
	if path == "/v2/" || path == "/v2" {
		return route{kind: routeBase}
	}
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return route{}
	}
	if rest == "_catalog" {
		return route{kind: routeCatalog}
	}
	segs := strings.Split(rest, "/")
	n := len(segs)
	if n < 3 {
		return route{}
	}
	name := func(k int) string { return strings.Join(segs[:n-k], "/") }
	switch {
	case segs[n-2] == "tags" && segs[n-1] == "list":
		return route{kind: routeTags, repo: name(2)}
	case n >= 4 && segs[n-3] == "blobs" && segs[n-2] == "uploads":
		if segs[n-1] == "" {
			return route{kind: routeUploadStart, repo: name(3)}
		}
		return route{kind: routeUpload, repo: name(3), ref: segs[n-1]}
	case segs[n-2] == "blobs" && segs[n-1] == "uploads":
		// POST /v2/<name>/blobs/uploads without the trailing slash.
		return route{kind: routeUploadStart, repo: name(2)}
	case segs[n-2] == "manifests":
		return route{kind: routeManifest, repo: name(2), ref: segs[n-1]}
	case segs[n-2] == "blobs":
		return route{kind: routeBlob, repo: name(2), ref: segs[n-1]}
	case segs[n-2] == "referrers":
		return route{kind: routeReferrers, repo: name(2), ref: segs[n-1]}
	}
	return route{}
}
