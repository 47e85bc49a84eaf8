package registry

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/registry/errcode"
	"github.com/berth-dev/berth/internal/registry/manifest"
	"github.com/berth-dev/berth/internal/registry/metadata"
	"github.com/berth-dev/berth/internal/registry/names"
)

// maxManifestSize bounds a manifest body, as distribution and the spec's
// recommendation (4 MiB) do.
const maxManifestSize = 4 << 20

// checkReference validates a manifest reference: a digest or a tag.
func checkReference(ref string) error {
	if strings.Contains(ref, ":") {
		_, err := parseDigest(ref)
		return err
	}
	if err := names.ValidateTag(ref); err != nil {
		return &errcode.Error{Code: errcode.TagInvalid, Message: err.Error(), Detail: map[string]string{"tag": ref}}
	}
	return nil
}

func manifestUnknown(repo, ref string) error {
	return &errcode.Error{Code: errcode.ManifestUnknown, Message: "manifest unknown to registry", Detail: map[string]string{"name": repo, "reference": ref}}
}

func (r *Registry) getManifest(w http.ResponseWriter, req *http.Request, rt route) {
	if err := checkReference(rt.ref); err != nil {
		errcode.Write(w, err)
		return
	}
	m, content, err := r.meta.ResolveContent(rt.repo, rt.ref)
	if errors.Is(err, metadata.ErrNotFound) {
		errcode.Write(w, manifestUnknown(rt.repo, rt.ref))
		return
	}
	if err != nil {
		errcode.Write(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", m.MediaType)
	h.Set("Content-Length", strconv.Itoa(len(content)))
	h.Set("Docker-Content-Digest", string(m.Digest))
	h.Set("ETag", `"`+string(m.Digest)+`"`)
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodGet {
		_, _ = w.Write(content)
	}
}

func (r *Registry) putManifest(w http.ResponseWriter, req *http.Request, rt route) {
	if err := checkReference(rt.ref); err != nil {
		errcode.Write(w, err)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxManifestSize+1))
	if err != nil {
		errcode.Write(w, errcode.New(errcode.ManifestInvalid, "reading the manifest: %v", err))
		return
	}
	if len(body) > maxManifestSize {
		errcode.Write(w, errcode.New(errcode.ManifestTooLarge, "manifest is larger than %d bytes", maxManifestSize))
		return
	}
	var d digest.Digest
	var tags []string
	if strings.Contains(rt.ref, ":") {
		want, _ := parseDigest(rt.ref)
		if got := want.Algorithm().FromBytes(body); got != want {
			errcode.Write(w, &errcode.Error{Code: errcode.DigestInvalid, Message: "manifest content hashes to " + string(got) + ", not " + string(want), Detail: map[string]string{"digest": string(want)}})
			return
		}
		d = want
	} else {
		d = digest.FromBytes(body)
		tags = append(tags, rt.ref)
	}
	for _, t := range req.URL.Query()["tag"] {
		if err := names.ValidateTag(t); err != nil {
			errcode.Write(w, &errcode.Error{Code: errcode.TagInvalid, Message: err.Error(), Detail: map[string]string{"tag": t}})
			return
		}
		tags = append(tags, t)
	}
	p, err := manifest.Parse(req.Header.Get("Content-Type"), body)
	if err != nil {
		errcode.Write(w, &errcode.Error{Code: errcode.ManifestInvalid, Message: "manifest invalid: " + err.Error()})
		return
	}
	rec := metadata.Manifest{
		Digest:       d,
		MediaType:    p.MediaType,
		Size:         int64(len(body)),
		ArtifactType: manifest.ReferrerArtifactType(p),
		Annotations:  p.Annotations,
		Pushed:       time.Now().UTC(),
	}
	if p.Subject != nil {
		rec.Subject = p.Subject.Digest
	}
	for _, c := range p.Manifests {
		rec.Children = append(rec.Children, c.Digest)
	}
	release := r.fence.Hold()
	for _, b := range p.Blobs() {
		rec.Blobs = append(rec.Blobs, b.Digest)
		if !manifest.RequiresBlob(b) {
			continue
		}
		if _, ok := r.meta.Blob(rt.repo, b.Digest); !ok {
			release()
			errcode.Write(w, &errcode.Error{Code: errcode.ManifestBlobUnknown, Message: "blob unknown to registry: " + string(b.Digest), Detail: map[string]string{"digest": string(b.Digest)}})
			return
		}
		r.fence.Touch(b.Digest)
	}
	err = r.meta.PutManifest(rt.repo, rec, body, tags)
	release()
	if err != nil {
		errcode.Write(w, err)
		return
	}
	r.metrics.manifestsPushed.Inc()
	h := w.Header()
	h.Set("Location", "/v2/"+rt.repo+"/manifests/"+string(d))
	h.Set("Docker-Content-Digest", string(d))
	if p.Subject != nil {
		h.Set("OCI-Subject", string(p.Subject.Digest))
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

func (r *Registry) deleteManifest(w http.ResponseWriter, _ *http.Request, rt route) {
	if err := checkReference(rt.ref); err != nil {
		errcode.Write(w, err)
		return
	}
	var err error
	if strings.Contains(rt.ref, ":") {
		err = r.meta.DeleteManifest(rt.repo, digest.Digest(rt.ref))
	} else {
		err = r.meta.DeleteTag(rt.repo, rt.ref)
	}
	if errors.Is(err, metadata.ErrNotFound) {
		errcode.Write(w, manifestUnknown(rt.repo, rt.ref))
		return
	}
	if err != nil {
		errcode.Write(w, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
}
