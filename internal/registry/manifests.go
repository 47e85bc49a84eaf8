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
	if err := r.checkSignedPull(req, rt, m); err != nil {
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
	queryTags := 0
	for _, t := range req.URL.Query()["tag"] {
		queryTags++
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
	for _, b := range p.Blobs() {
		rec.Blobs = append(rec.Blobs, b.Digest)
	}
	release := r.fence.Hold()
	if err := r.checkReferenced(rt.repo, p); err != nil {
		release()
		errcode.Write(w, err)
		return
	}
	err = r.meta.PutManifestKeeping(rt.repo, rec, body, tags, r.immutableTag(rt.repo))
	release()
	if err != nil {
		errcode.Write(w, immutableError(rt.repo, err, "moved to "+string(d)))
		return
	}
	r.metrics.manifestsPushed.Inc()
	h := w.Header()
	h.Set("Location", "/v2/"+rt.repo+"/manifests/"+string(d))
	h.Set("Docker-Content-Digest", string(d))
	if p.Subject != nil {
		h.Set("OCI-Subject", string(p.Subject.Digest))
	}
	// One OCI-Tag per tag applied from the query (distribution-spec,
	// "Pushing Manifests with Tags"): it tells the client those tags took,
	// so it need not push again by tag (which, for a sha512 manifest,
	// would store it under its sha256 digest too).
	for _, t := range tags[len(tags)-queryTags:] {
		h.Add("OCI-Tag", t)
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// checkReferenced makes sure the blobs and child manifests p names are in
// repo, unless sparse manifests are allowed. It runs under the GC fence and
// touches what it finds, so the collector cannot remove it before the
// manifest is stored. Blobs that need not be pushed (non-distributable
// layers, inline data) are never required; a missing subject is always
// allowed, as the spec says.
func (r *Registry) checkReferenced(repo string, p *manifest.Parsed) error {
	var missing errcode.List
	for _, b := range p.Blobs() {
		if !manifest.RequiresBlob(b) {
			continue
		}
		if _, ok := r.meta.Blob(repo, b.Digest); ok {
			r.fence.Touch(b.Digest)
		} else if !r.cfg.AllowSparseManifests {
			missing = append(missing, &errcode.Error{Code: errcode.ManifestBlobUnknown, Message: "blob unknown to registry: " + string(b.Digest), Detail: map[string]string{"digest": string(b.Digest)}})
		}
	}
	for _, c := range p.Manifests {
		if _, ok := r.meta.Blob(repo, c.Digest); ok {
			r.fence.Touch(c.Digest)
		} else if !r.cfg.AllowSparseManifests {
			missing = append(missing, &errcode.Error{Code: errcode.ManifestBlobUnknown,
				Message: "manifest unknown to registry: " + string(c.Digest) + " (push the index's children first, or allow sparse manifests)",
				Detail:  map[string]string{"digest": string(c.Digest)}})
		}
	}
	switch {
	case len(missing) == 0:
		return nil
	case len(missing) > maxMissingErrors:
		missing = missing[:maxMissingErrors]
	}
	return missing
}

// maxMissingErrors bounds the errors one manifest PUT answers with (one per
// missing blob or child, as the spec asks, but a 4 MiB manifest can name
// tens of thousands).
const maxMissingErrors = 100

func (r *Registry) deleteManifest(w http.ResponseWriter, _ *http.Request, rt route) {
	err := r.deleteReference(rt.repo, rt.ref)
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

// deleteReference deletes a tag or (ref a digest) a manifest of repo, by
// the repository's rules: an immutable tag, or a manifest one names, is
// refused with the DENIED error. The API's DELETE and the console's
// delete both come here.
func (r *Registry) deleteReference(repo, ref string) error {
	if err := checkReference(ref); err != nil {
		return err
	}
	var err error
	if strings.Contains(ref, ":") {
		err = r.meta.DeleteManifestKeeping(repo, digest.Digest(ref), r.immutableTag(repo))
	} else if immutable := r.immutableTag(repo); immutable != nil && immutable(ref) {
		if m, rerr := r.meta.Resolve(repo, ref); rerr == nil {
			err = &metadata.ImmutableTagError{Tag: ref, Digest: m.Digest}
		} else {
			err = rerr
		}
	} else {
		err = r.meta.DeleteTag(repo, ref)
	}
	return immutableError(repo, err, "deleted")
}
