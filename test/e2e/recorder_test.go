package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// recordedRequest is one request a client sent through a recorder, with the
// status the registry answered.
type recordedRequest struct {
	Method    string
	Path      string
	Query     url.Values
	Status    int
	ReqHeader http.Header // request headers as the client sent them
	Header    http.Header // response headers
}

func (r recordedRequest) String() string {
	q := ""
	if len(r.Query) > 0 {
		q = "?" + r.Query.Encode()
	}
	return fmt.Sprintf("%s %s%s -> %d", r.Method, r.Path, q, r.Status)
}

// recorder is a reverse proxy in front of a registry that remembers every
// request, so a test can assert how a client talked to the server (chunked
// upload, cross-repo mount, referrers API), not only that it succeeded.
//
// The proxy keeps the client's Host header, so a registry that builds
// absolute Location URLs from Host keeps the client on the proxy.
type recorder struct {
	Host string // "127.0.0.1:PORT" of the proxy; use it in image references

	mu   sync.Mutex
	reqs []recordedRequest
}

// newRecorder starts a recording proxy for reg, stopped when the test ends.
func newRecorder(t testing.TB, reg *Registry) *recorder {
	t.Helper()
	target, _ := url.Parse("http://" + reg.Host)
	rec := &recorder{}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			req := resp.Request
			rec.mu.Lock()
			rec.reqs = append(rec.reqs, recordedRequest{
				Method:    req.Method,
				Path:      req.URL.Path,
				Query:     req.URL.Query(),
				Status:    resp.StatusCode,
				ReqHeader: req.Header.Clone(),
				Header:    resp.Header.Clone(),
			})
			rec.mu.Unlock()
			return nil
		},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("recorder listen: %v", err)
	}
	srv := &http.Server{Handler: proxy}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	rec.Host = l.Addr().String()
	return rec
}

// Ref returns an image reference through the proxy.
func (r *recorder) Ref(nameAndRef string) string { return r.Host + "/" + nameAndRef }

// Reset forgets what was recorded so far.
func (r *recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = nil
}

// Requests returns the recorded requests matching keep, in order.
func (r *recorder) Requests(keep func(recordedRequest) bool) []recordedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []recordedRequest
	for _, q := range r.reqs {
		if keep == nil || keep(q) {
			out = append(out, q)
		}
	}
	return out
}

// Dump formats every recorded request, for failure messages.
func (r *recorder) Dump() string {
	var b strings.Builder
	for _, q := range r.Requests(nil) {
		b.WriteString("  ")
		b.WriteString(q.String())
		b.WriteByte('\n')
	}
	return b.String()
}
