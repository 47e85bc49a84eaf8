package registry

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/registry/auth"
	"github.com/berth-dev/berth/internal/registry/errcode"
	"github.com/berth-dev/berth/internal/registry/httprange"
	"github.com/berth-dev/berth/internal/registry/names"
	"github.com/berth-dev/berth/internal/registry/upload"
)

func uploadLocation(repo, id string) string {
	return "/v2/" + repo + "/blobs/uploads/" + id
}

func blobLocation(repo string, d digest.Digest) string {
	return "/v2/" + repo + "/blobs/" + string(d)
}

// startUpload handles POST /v2/<name>/blobs/uploads/: a cross-repository
// mount, a monolithic upload (?digest=) or the start of a session.
func (r *Registry) startUpload(w http.ResponseWriter, req *http.Request, rt route) {
	q := req.URL.Query()
	if m := q.Get("mount"); m != "" {
		d, err := parseDigest(m)
		if err != nil {
			errcode.Write(w, err)
			return
		}
		if r.mount(req, rt.repo, d, q.Get("from"), q.Has("from")) {
			w.Header().Set("Location", blobLocation(rt.repo, d))
			w.Header().Set("Docker-Content-Digest", string(d))
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusCreated)
			return
		}
		// The spec: a mount that cannot be done becomes an upload (202).
	}
	alg := digest.Canonical
	if a := q.Get("digest-algorithm"); a != "" {
		alg = digest.Algorithm(a)
		if !alg.Available() {
			errcode.Write(w, &errcode.Error{Code: errcode.DigestInvalid, Message: "unsupported digest algorithm " + strconv.Quote(a), Detail: map[string]string{"digest-algorithm": a}})
			return
		}
	}
	var want digest.Digest
	if ds := q.Get("digest"); ds != "" {
		d, err := parseDigest(ds)
		if err != nil {
			errcode.Write(w, err)
			return
		}
		want = d
		alg = d.Algorithm()
	}
	s, err := r.uploads.Start(rt.repo, alg)
	if err != nil {
		errcode.Write(w, err)
		return
	}
	r.metrics.uploadsStarted.Inc()
	if want != "" {
		// Monolithic upload: the whole blob is in this request.
		if _, err := s.Append(req.Body, -1); err != nil {
			r.uploads.Remove(s)
			errcode.Write(w, errcode.New(errcode.BlobUploadInvalid, "reading the blob: %v", err))
			return
		}
		r.finishUpload(w, rt.repo, s, want)
		return
	}
	r.writeUploadState(w, rt.repo, s, http.StatusAccepted)
}

// mount links blob d of repository from (or, with no from, of any
// repository the client may pull) into repo. It reports success; any
// failure means "upload it instead", never an error, as clients expect.
func (r *Registry) mount(req *http.Request, repo string, d digest.Digest, from string, hasFrom bool) bool {
	if hasFrom {
		if names.ValidateRepository(from) != nil {
			return false
		}
		if r.auth != nil {
			if _, err := r.auth.Authorize(req, []auth.Scope{{Type: "repository", Name: from, Actions: []string{"pull"}}}); err != nil {
				return false
			}
		}
	} else {
		var ok bool
		from, ok = r.meta.BlobInAnyRepo(d, func(name string) bool {
			if r.auth == nil {
				return true
			}
			_, err := r.auth.Authorize(req, []auth.Scope{{Type: "repository", Name: name, Actions: []string{"pull"}}})
			return err == nil
		})
		if !ok {
			return false
		}
	}
	release := r.fence.Hold()
	defer release()
	size, ok := r.meta.Blob(from, d)
	if !ok {
		return false
	}
	if _, err := r.blobs.Stat(d); err != nil {
		m, isManifest := r.meta.Content(from, d)
		if !isManifest {
			return false
		}
		// A manifest's bytes live in the metadata store under the source
		// repository's manifest record, which repo does not get: linking
		// the digest alone would answer 201 and then 404 on GET. Store the
		// bytes as a blob (verified against d) so repo can serve them.
		if err := r.blobs.Write(d, m); err != nil {
			r.log.Error("mount: storing manifest as blob", "repository", repo, "digest", d, "err", err)
			return false
		}
	}
	if err := r.meta.LinkBlob(repo, d, size); err != nil {
		r.log.Error("mount: linking blob", "repository", repo, "digest", d, "err", err)
		return false
	}
	r.fence.Touch(d)
	r.metrics.mounts.Inc()
	return true
}

func (r *Registry) session(w http.ResponseWriter, rt route) *upload.Session {
	s, err := r.uploads.Get(rt.ref, rt.repo)
	if err != nil {
		errcode.Write(w, &errcode.Error{Code: errcode.BlobUploadUnknown, Message: "blob upload unknown to registry", Detail: map[string]string{"uuid": rt.ref}})
		return nil
	}
	return s
}

// appendChunk writes a PATCH or PUT body to the session, honouring a
// Content-Range (chunked upload) or appending (streamed upload).
func (r *Registry) appendChunk(w http.ResponseWriter, req *http.Request, rt route, s *upload.Session) bool {
	start := int64(-1)
	body := io.Reader(req.Body)
	if cr := req.Header.Get("Content-Range"); cr != "" {
		first, last, err := httprange.ParseContentRange(cr)
		if err != nil {
			r.writeOutOfOrder(w, rt.repo, s, err.Error())
			return false
		}
		start = first
		// The body must be exactly the range it claims. A LimitReader alone
		// would silently take a short body (the client then believes the
		// upload holds bytes it does not) and drop a long one's excess.
		want := last - first + 1
		if req.ContentLength >= 0 && req.ContentLength != want {
			errcode.Write(w, errcode.New(errcode.BlobUploadInvalid, "Content-Range %q names %d bytes but Content-Length is %d", cr, want, req.ContentLength))
			return false
		}
		body = &exactReader{r: req.Body, left: want}
	}
	n0 := s.Size()
	size, err := s.Append(body, start)
	switch {
	case errors.Is(err, upload.ErrOutOfOrder):
		r.writeOutOfOrder(w, rt.repo, s, "chunk starts at "+strconv.FormatInt(start, 10)+", the upload has "+strconv.FormatInt(size, 10)+" bytes")
		return false
	case errors.Is(err, upload.ErrUnknown):
		errcode.Write(w, &errcode.Error{Code: errcode.BlobUploadUnknown, Message: "blob upload unknown to registry", Detail: map[string]string{"uuid": rt.ref}})
		return false
	case err != nil:
		errcode.Write(w, errcode.New(errcode.BlobUploadInvalid, "reading the chunk: %v", err))
		return false
	}
	r.metrics.bytesIn.Add(float64(size - n0))
	return true
}

func (r *Registry) writeOutOfOrder(w http.ResponseWriter, repo string, s *upload.Session, msg string) {
	h := w.Header()
	h.Set("Location", uploadLocation(repo, s.ID))
	h.Set("Range", httprange.FormatUploadRange(s.Size()))
	h.Set("Docker-Upload-UUID", s.ID)
	errcode.Write(w, errcode.New(errcode.ChunkOutOfOrder, "%s", msg))
}

func (r *Registry) patchUpload(w http.ResponseWriter, req *http.Request, rt route) {
	s := r.session(w, rt)
	if s == nil {
		return
	}
	if !r.appendChunk(w, req, rt, s) {
		return
	}
	r.writeUploadState(w, rt.repo, s, http.StatusAccepted)
}

func (r *Registry) putUpload(w http.ResponseWriter, req *http.Request, rt route) {
	s := r.session(w, rt)
	if s == nil {
		return
	}
	ds := req.URL.Query().Get("digest")
	if ds == "" {
		errcode.Write(w, errcode.New(errcode.DigestInvalid, "the digest query parameter is required to finish an upload"))
		return
	}
	d, err := parseDigest(ds)
	if err != nil {
		errcode.Write(w, err)
		return
	}
	if req.ContentLength != 0 {
		if !r.appendChunk(w, req, rt, s) {
			return
		}
	}
	r.finishUpload(w, rt.repo, s, d)
}

// finishUpload verifies the session's content against want and moves it
// into the blob store, then links it into repo.
func (r *Registry) finishUpload(w http.ResponseWriter, repo string, s *upload.Session, want digest.Digest) {
	path, size, err := s.Finish(want)
	if err != nil {
		if errors.Is(err, upload.ErrDigestMismatch) {
			// The client may retry the final PUT with the right digest
			// only by uploading again: the session is over.
			r.uploads.Remove(s)
			errcode.Write(w, &errcode.Error{Code: errcode.DigestInvalid, Message: "provided digest did not match uploaded content: " + err.Error(), Detail: map[string]string{"digest": string(want)}})
			return
		}
		if errors.Is(err, upload.ErrUnknown) {
			errcode.Write(w, errcode.New(errcode.BlobUploadUnknown, "blob upload unknown to registry"))
			return
		}
		r.uploads.Remove(s)
		errcode.Write(w, err)
		return
	}
	release := r.fence.Hold()
	existed, err := r.blobs.Commit(path, want)
	if err == nil {
		err = r.meta.LinkBlob(repo, want, size)
	}
	r.fence.Touch(want)
	release()
	r.uploads.Remove(s)
	if err != nil {
		errcode.Write(w, err)
		return
	}
	if existed {
		r.metrics.dedupedBlobs.Inc()
	}
	r.metrics.uploadsFinished.Inc()
	h := w.Header()
	h.Set("Location", blobLocation(repo, want))
	h.Set("Docker-Content-Digest", string(want))
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

func (r *Registry) uploadStatus(w http.ResponseWriter, _ *http.Request, rt route) {
	s := r.session(w, rt)
	if s == nil {
		return
	}
	r.writeUploadState(w, rt.repo, s, http.StatusNoContent)
}

func (r *Registry) cancelUpload(w http.ResponseWriter, _ *http.Request, rt route) {
	s := r.session(w, rt)
	if s == nil {
		return
	}
	if err := r.uploads.Remove(s); err != nil {
		errcode.Write(w, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
}

func (r *Registry) writeUploadState(w http.ResponseWriter, repo string, s *upload.Session, status int) {
	h := w.Header()
	h.Set("Location", uploadLocation(repo, url.PathEscape(s.ID)))
	h.Set("Range", httprange.FormatUploadRange(s.Size()))
	h.Set("Docker-Upload-UUID", s.ID)
	if r.cfg.ChunkMinLength > 0 {
		h.Set("OCI-Chunk-Min-Length", strconv.FormatInt(r.cfg.ChunkMinLength, 10))
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(status)
}

// errChunkLength is what exactReader fails with; Session.Append then rolls
// the chunk back, so the session stays where it was.
var errChunkLength = errors.New("the body length does not match the Content-Range")

// exactReader reads exactly left bytes from r and fails if r holds fewer or
// more, for chunks whose length only the end of the body tells (chunked
// transfer encoding).
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left == 0 {
		var probe [1]byte
		if n, _ := io.ReadFull(e.r, probe[:]); n > 0 {
			return 0, errChunkLength
		}
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if errors.Is(err, io.EOF) {
		if e.left > 0 {
			return n, errChunkLength
		}
		return n, io.EOF
	}
	return n, err
}
