package registry

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxLocalReadSize bounds one response of the local read port: the
// checker reads manifests, referrers indexes and signature blobs (bundles,
// simplesigning payloads), all far below this.
const maxLocalReadSize = 16 << 20

// localReader is the registry's read port for its own signature checker:
// an http.RoundTripper that answers GET/HEAD of one repository's API
// (manifests, blobs, referrers; the /v2/ base) straight from the stores,
// in-process. It is how requireSignature: {keys:} verifies a pull without
// the registry calling itself over the network: no socket, no credentials
// of its own. Authorization is skipped because the pull being checked has
// already been authorized for this repository, and this port can read
// nothing else: other repositories, writes, the catalog and tag lists are
// refused. Manifests are read by digest or tag-schema tag only, which
// requireSignature exempts, so the check never recurses.
type localReader struct {
	r    *Registry
	repo string
}

// LocalReader returns the read port over repository repo (see
// SignatureChecker).
func (r *Registry) LocalReader(repo string) http.RoundTripper { return localReader{r, repo} }

func (l localReader) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return nil, fmt.Errorf("registry read port: %s %s: read-only", req.Method, req.URL.Path)
	}
	rt := parseRoute(req.URL.Path)
	switch rt.kind {
	case routeBase:
	case routeManifest, routeBlob, routeReferrers:
		if rt.repo != l.repo {
			return nil, fmt.Errorf("registry read port: %s: only repository %s may be read", req.URL.Path, l.repo)
		}
		// By digest or tag-schema tag only: a plain tag would go through
		// requireSignature again (and the checker never needs one).
		if rt.kind == routeManifest && !strings.Contains(rt.ref, ":") && !isTagSchema(rt.ref) {
			return nil, fmt.Errorf("registry read port: %s: manifests are read by digest or signature tag only", req.URL.Path)
		}
	default:
		return nil, fmt.Errorf("registry read port: %s: not a manifest, blob or referrers read", req.URL.Path)
	}
	w := &bufferWriter{header: http.Header{}}
	l.r.serveRead(w, req, rt)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.overflow {
		return nil, fmt.Errorf("registry read port: %s: response larger than %d bytes", req.URL.Path, maxLocalReadSize)
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)), StatusCode: w.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.header, Body: io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: int64(w.body.Len()), Request: req,
	}, nil
}

// serveRead dispatches a read the port allowed, without authorization.
func (r *Registry) serveRead(w http.ResponseWriter, req *http.Request, rt route) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	switch rt.kind {
	case routeBase:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("{}"))
	case routeManifest:
		r.getManifest(w, req, rt)
	case routeBlob:
		r.getBlob(w, req, rt)
	case routeReferrers:
		r.serveReferrers(w, req, rt)
	}
	if req.Method == http.MethodHead {
		if b, ok := w.(*bufferWriter); ok {
			b.body.Reset()
		}
	}
}

// bufferWriter is the in-memory http.ResponseWriter of the read port.
type bufferWriter struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	overflow bool
}

func (b *bufferWriter) Header() http.Header { return b.header }

func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if b.body.Len()+len(p) > maxLocalReadSize {
		b.overflow = true
		return 0, fmt.Errorf("response larger than %d bytes", maxLocalReadSize)
	}
	return b.body.Write(p)
}
