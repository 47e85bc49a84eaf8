package registry

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/blobstore"
	"github.com/berth-dev/berth/internal/registry/errcode"
	"github.com/berth-dev/berth/internal/registry/httprange"
)

// parseDigest validates a digest from a URL or query, naming it in the error.
func parseDigest(s string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err != nil {
		return "", &errcode.Error{Code: errcode.DigestInvalid, Message: "invalid digest " + strconv.Quote(s) + ": " + err.Error(), Detail: map[string]string{"digest": s}}
	}
	if !d.Algorithm().Available() {
		return "", &errcode.Error{Code: errcode.DigestInvalid, Message: "unsupported digest algorithm " + strconv.Quote(string(d.Algorithm())), Detail: map[string]string{"digest": s}}
	}
	return d, nil
}

// getBlob serves blob HEAD and GET, with Range support.
func (r *Registry) getBlob(w http.ResponseWriter, req *http.Request, rt route) {
	d, err := parseDigest(rt.ref)
	if err != nil {
		errcode.Write(w, err)
		return
	}
	size, ok := r.meta.Blob(rt.repo, d)
	if !ok {
		errcode.Write(w, &errcode.Error{Code: errcode.BlobUnknown, Message: "blob unknown to registry", Detail: map[string]string{"digest": string(d)}})
		return
	}
	// A HEAD that finds a blob lets the client skip its upload and name
	// the blob in a manifest: keep the collector away from it.
	r.fence.Touch(d)

	var content io.ReadSeeker
	contentType := "application/octet-stream"
	f, err := r.blobs.Open(d)
	switch {
	case err == nil:
		defer f.Close()
		content = f
	case errors.Is(err, blobstore.ErrNotFound):
		// Manifests live in the metadata store; containerd fetches them
		// by digest through the blob endpoint, and caches the
		// Content-Type it gets there (containerd #7390), so answer with
		// the manifest's media type, as a manifest GET would.
		m, body, err := r.meta.ResolveContent(rt.repo, string(d))
		if err != nil {
			errcode.Write(w, &errcode.Error{Code: errcode.BlobUnknown, Message: "blob unknown to registry", Detail: map[string]string{"digest": string(d)}})
			return
		}
		content = bytes.NewReader(body)
		size = int64(len(body))
		contentType = m.MediaType
	default:
		errcode.Write(w, err)
		return
	}

	h := w.Header()
	h.Set("Docker-Content-Digest", string(d))
	h.Set("Content-Type", contentType)
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", `"`+string(d)+`"`)
	h.Set("Cache-Control", "max-age=31536000")

	span, partial, err := httprange.ParseRange(req.Header.Get("Range"), size)
	if err != nil {
		h.Set("Content-Range", httprange.UnsatisfiableContentRange(size))
		errcode.Write(w, &errcode.Error{Code: errcode.RangeNotSatisfiable, Message: "range not satisfiable: " + err.Error()})
		return
	}
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", span.ContentRange(size))
	} else {
		span = httprange.Span{Start: 0, End: size}
	}
	h.Set("Content-Length", strconv.FormatInt(span.Length(), 10))
	w.WriteHeader(status)
	if req.Method == http.MethodHead {
		return
	}
	if span.Start > 0 {
		if _, err := content.Seek(span.Start, io.SeekStart); err != nil {
			return
		}
	}
	// An *os.File behind a LimitedReader still goes out with sendfile(2).
	n, _ := io.Copy(w, &io.LimitedReader{R: content, N: span.Length()})
	r.metrics.bytesOut.Add(float64(n))
}

// deleteBlob removes the repository's link to a blob; the content goes at
// the next garbage collection if nothing else references it.
func (r *Registry) deleteBlob(w http.ResponseWriter, req *http.Request, rt route) {
	d, err := parseDigest(rt.ref)
	if err != nil {
		errcode.Write(w, err)
		return
	}
	found, err := r.meta.UnlinkBlob(rt.repo, d)
	if err != nil {
		errcode.Write(w, err)
		return
	}
	if !found {
		errcode.Write(w, &errcode.Error{Code: errcode.BlobUnknown, Message: "blob unknown to registry", Detail: map[string]string{"digest": string(d)}})
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}
