package registry_test

// Push: every blob upload style clients use, cross-repository mounts, an
// upload that outlives a restart, concurrent pushes of one blob, and every
// manifest shape the spec and real clients push.

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
)

// startUpload POSTs a new upload session and returns its Location.
func (h *harness) startUpload(repo string, query string) string {
	h.t.Helper()
	r := h.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/"+query, nil)
	expectStatus(h.t, "POST upload", r, http.StatusAccepted)
	return location(h.t, "POST upload", r)
}

// expectBlob checks that repo serves data as blob d.
func (h *harness) expectBlob(repo string, d digest.Digest, data []byte) {
	h.t.Helper()
	r := h.do(http.MethodGet, "/v2/"+repo+"/blobs/"+string(d), nil)
	expectStatus(h.t, "GET "+string(d), r, http.StatusOK)
	if !bytes.Equal(r.body, data) {
		h.t.Fatalf("GET %s: %d bytes, not the %d pushed", d, len(r.body), len(data))
	}
	expectHeader(h.t, "GET "+string(d), r, "Docker-Content-Digest", string(d))
}

// expectCreated checks a finished upload: 201, Docker-Content-Digest and a
// Location that serves the blob.
func (h *harness) expectCreated(what string, r response, repo string, d digest.Digest, data []byte) {
	h.t.Helper()
	expectStatus(h.t, what, r, http.StatusCreated)
	expectHeader(h.t, what, r, "Docker-Content-Digest", string(d))
	loc := location(h.t, what, r)
	g := h.do(http.MethodGet, loc, nil)
	expectStatus(h.t, what+": GET Location", g, http.StatusOK)
	if !bytes.Equal(g.body, data) {
		h.t.Fatalf("%s: Location %s serves other bytes", what, loc)
	}
	h.expectBlob(repo, d, data)
}

func TestConformanceUploadMonolithic(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			data := content(4096, 1)
			d := alg.FromBytes(data)
			r := h.do(http.MethodPost, "/v2/push/mono/blobs/uploads/?digest="+url.QueryEscape(string(d)), data,
				"Content-Type", "application/octet-stream")
			h.expectCreated("POST ?digest=", r, "push/mono", d, data)

			// A wrong digest is refused, and nothing is stored under it.
			bad := alg.FromString("something else")
			r = h.do(http.MethodPost, "/v2/push/mono/blobs/uploads/?digest="+url.QueryEscape(string(bad)), data)
			expectError(t, "POST ?digest= wrong digest", r, http.StatusBadRequest, "DIGEST_INVALID")
			expectStatus(t, "HEAD wrong digest", h.do(http.MethodHead, "/v2/push/mono/blobs/"+string(bad), nil), http.StatusNotFound)
		})
	}
}

func TestConformanceUploadPostPut(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			data := content(5000, 2)
			d := alg.FromBytes(data)
			loc := h.startUpload("push/postput", "")
			r := h.do(http.MethodPut, withQuery(t, loc, "digest", string(d)), data, "Content-Type", "application/octet-stream")
			h.expectCreated("PUT with body", r, "push/postput", d, data)
			// POST without the trailing slash, as some clients send it.
			r = h.do(http.MethodPost, "/v2/push/postput2/blobs/uploads", nil)
			expectStatus(t, "POST without trailing slash", r, http.StatusAccepted)
			r = h.do(http.MethodPut, withQuery(t, location(t, "POST", r), "digest", string(d)), data)
			h.expectCreated("PUT after POST without slash", r, "push/postput2", d, data)
			// The session is over.
			expectError(t, "GET finished upload", h.do(http.MethodGet, loc, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
		})
	}
}

func TestConformanceUploadStreamed(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			data := content(70000, 3)
			d := alg.FromBytes(data)
			loc := h.startUpload("push/streamed", "")
			r := h.do(http.MethodPatch, loc, data, "Content-Type", "application/octet-stream")
			expectStatus(t, "streamed PATCH", r, http.StatusAccepted)
			expectHeader(t, "streamed PATCH", r, "Range", "0-69999")
			loc = location(t, "streamed PATCH", r)
			r = h.do(http.MethodPut, withQuery(t, loc, "digest", string(d)), nil)
			h.expectCreated("PUT after streamed PATCH", r, "push/streamed", d, data)
		})
	}
}

func TestConformanceUploadChunked(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			const repo = "push/chunked"
			data := content(3*1024+100, 4)
			d := alg.FromBytes(data)
			loc := h.startUpload(repo, "")

			// Status of a fresh session.
			r := h.do(http.MethodGet, loc, nil)
			expectStatus(t, "GET fresh upload", r, http.StatusNoContent)
			location(t, "GET fresh upload", r)

			chunks := [][2]int{{0, 1024}, {1024, 2048}, {2048, 3072}}
			for _, c := range chunks {
				cr := fmt.Sprintf("%d-%d", c[0], c[1]-1)
				r := h.do(http.MethodPatch, loc, data[c[0]:c[1]],
					"Content-Type", "application/octet-stream", "Content-Range", cr,
					"Content-Length", strconv.Itoa(c[1]-c[0]))
				expectStatus(t, "PATCH "+cr, r, http.StatusAccepted)
				// Range is the whole upload so far, not the chunk.
				expectHeader(t, "PATCH "+cr, r, "Range", fmt.Sprintf("0-%d", c[1]-1))
				loc = location(t, "PATCH "+cr, r)

				s := h.do(http.MethodGet, loc, nil)
				expectStatus(t, "GET upload status", s, http.StatusNoContent)
				expectHeader(t, "GET upload status", s, "Range", fmt.Sprintf("0-%d", c[1]-1))
				location(t, "GET upload status", s)
			}

			// A repeated chunk and one that skips ahead are out of order.
			for _, cr := range []string{"1024-2047", "3100-3123", "0-1023"} {
				r := h.do(http.MethodPatch, loc, make([]byte, rangeLen(t, cr)), "Content-Range", cr)
				expectStatus(t, "out-of-order PATCH "+cr, r, http.StatusRequestedRangeNotSatisfiable)
				errorBody(t, "out-of-order PATCH "+cr, r)
				expectHeader(t, "out-of-order PATCH "+cr, r, "Range", "0-3071")
				location(t, "out-of-order PATCH "+cr, r)
			}

			// The last chunk comes with the closing PUT.
			last := data[3072:]
			r = h.do(http.MethodPut, withQuery(t, loc, "digest", string(d)), last,
				"Content-Type", "application/octet-stream",
				"Content-Range", fmt.Sprintf("3072-%d", len(data)-1))
			h.expectCreated("closing PUT with last chunk", r, repo, d, data)
		})
	}
}

func rangeLen(t *testing.T, cr string) int {
	a, b, _ := strings.Cut(cr, "-")
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad range %q", cr)
	}
	return y - x + 1
}

// TestConformanceUploadChunkLengthMismatch: a chunk whose body is shorter
// or longer than its Content-Range must not be taken as if it matched, or
// the upload silently holds other bytes than the client believes.
func TestConformanceUploadChunkLengthMismatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	data := content(2048, 5)
	loc := h.startUpload("push/mismatch", "")
	r := h.do(http.MethodPatch, loc, data[:1000], "Content-Range", "0-1023")
	if r.status/100 != 4 {
		t.Fatalf("PATCH with 1000 bytes for 0-1023: status %s, want a 4xx", r)
	}
	errorBody(t, "short chunk", r)
	r = h.do(http.MethodPatch, loc, data[:1100], "Content-Range", "0-1023")
	if r.status/100 != 4 {
		t.Fatalf("PATCH with 1100 bytes for 0-1023: status %s, want a 4xx", r)
	}
	errorBody(t, "long chunk", r)
	// The same with chunked transfer encoding, where only the end of the
	// body tells its length.
	for _, n := range []int{1000, 1100} {
		req, err := http.NewRequest(http.MethodPatch, h.url(loc), io.MultiReader(bytes.NewReader(data[:n])))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Range", "0-1023")
		if req.ContentLength != 0 {
			t.Fatalf("request has Content-Length %d, want it unknown (chunked)", req.ContentLength)
		}
		resp, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r := response{status: resp.StatusCode, header: resp.Header, body: body}
		if r.status/100 != 4 {
			t.Fatalf("chunked PATCH with %d bytes for 0-1023: status %s, want a 4xx", n, r)
		}
		errorBody(t, "chunked PATCH of the wrong length", r)
	}
	// The session is still usable from where it really is: nothing.
	s := h.do(http.MethodGet, loc, nil)
	expectStatus(t, "status after refused chunks", s, http.StatusNoContent)
	expectHeader(t, "status after refused chunks", s, "Range", "0-0")
	r = h.do(http.MethodPatch, loc, data[:1024], "Content-Range", "0-1023")
	expectStatus(t, "good chunk", r, http.StatusAccepted)
	expectHeader(t, "good chunk", r, "Range", "0-1023")
	r = h.do(http.MethodPut, withQuery(t, location(t, "good chunk", r), "digest", string(digest.FromBytes(data))), data[1024:],
		"Content-Range", "1024-2047")
	h.expectCreated("finish", r, "push/mismatch", digest.FromBytes(data), data)
}

func TestConformanceUploadCancel(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	loc := h.startUpload("push/cancel", "")
	expectStatus(t, "PATCH", h.do(http.MethodPatch, loc, content(100, 1)), http.StatusAccepted)
	r := h.do(http.MethodDelete, loc, nil)
	expectStatus(t, "DELETE upload", r, http.StatusNoContent)
	expectError(t, "GET cancelled upload", h.do(http.MethodGet, loc, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	expectError(t, "PATCH cancelled upload", h.do(http.MethodPatch, loc, content(10, 1)), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	expectError(t, "DELETE cancelled upload", h.do(http.MethodDelete, loc, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	// Unknown and malformed upload IDs.
	for _, id := range []string{"6ba7b810-9dad-11d1-80b4-00c04fd430c8", "not-a-uuid"} {
		expectError(t, "GET upload "+id, h.do(http.MethodGet, "/v2/push/cancel/blobs/uploads/"+id, nil),
			http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	}
	// An upload of one repository is unknown to another.
	loc = h.startUpload("push/cancel", "")
	other := strings.Replace(loc, "/push/cancel/", "/push/other/", 1)
	expectError(t, "GET upload via another repo", h.do(http.MethodGet, other, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
}

func TestConformanceUploadWrongDigest(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			data := content(2000, 6)
			loc := h.startUpload("push/wrong", "")
			r := h.do(http.MethodPatch, loc, data)
			expectStatus(t, "PATCH", r, http.StatusAccepted)
			loc = location(t, "PATCH", r)
			bad := alg.FromString("not the content")
			r = h.do(http.MethodPut, withQuery(t, loc, "digest", string(bad)), nil)
			expectError(t, "PUT wrong digest", r, http.StatusBadRequest, "DIGEST_INVALID")
			expectStatus(t, "HEAD wrong digest", h.do(http.MethodHead, "/v2/push/wrong/blobs/"+string(bad), nil), http.StatusNotFound)

			// Missing and malformed digests on the closing PUT.
			loc = h.startUpload("push/wrong", "")
			expectError(t, "PUT without digest", h.do(http.MethodPut, loc, data), http.StatusBadRequest, "DIGEST_INVALID")
			expectError(t, "PUT with malformed digest", h.do(http.MethodPut, withQuery(t, loc, "digest", "sha256:xyz"), data),
				http.StatusBadRequest, "DIGEST_INVALID")
		})
	}
}

func TestConformanceUploadDigestAlgorithm(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	data := content(10000, 8)
	d := digest.SHA512.FromBytes(data)
	loc := h.startUpload("push/sha512", "?digest-algorithm=sha512")
	r := h.do(http.MethodPatch, loc, data[:6000], "Content-Range", "0-5999")
	expectStatus(t, "PATCH", r, http.StatusAccepted)
	r = h.do(http.MethodPatch, location(t, "PATCH", r), data[6000:], "Content-Range", "6000-9999")
	expectStatus(t, "PATCH", r, http.StatusAccepted)
	r = h.do(http.MethodPut, withQuery(t, location(t, "PATCH", r), "digest", string(d)), nil)
	h.expectCreated("PUT sha512", r, "push/sha512", d, data)

	// A session started for sha512 and closed with a sha256 digest is
	// verified with the algorithm of the digest named at the end.
	loc = h.startUpload("push/sha512", "?digest-algorithm=sha512")
	r = h.do(http.MethodPatch, loc, data)
	expectStatus(t, "streamed PATCH", r, http.StatusAccepted)
	r = h.do(http.MethodPut, withQuery(t, location(t, "PATCH", r), "digest", string(digest.SHA256.FromBytes(data))), nil)
	h.expectCreated("PUT sha256 on a sha512 session", r, "push/sha512", digest.SHA256.FromBytes(data), data)

	// An algorithm the registry does not know is refused up front.
	r = h.do(http.MethodPost, "/v2/push/sha512/blobs/uploads/?digest-algorithm=md5", nil)
	expectError(t, "POST digest-algorithm=md5", r, http.StatusBadRequest, "DIGEST_INVALID")
}

func TestConformanceMount(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			data := content(1500, 9)
			d := h.pushBlob("mount/src", data, alg)

			// Mount from a repository that has the blob: 201.
			r := h.do(http.MethodPost, "/v2/mount/dst/blobs/uploads/?mount="+url.QueryEscape(string(d))+"&from=mount/src", nil)
			h.expectCreated("mount", r, "mount/dst", d, data)

			// Mount of a blob nobody has: 202 and a usable upload.
			missing := content(700, 10)
			md := alg.FromBytes(missing)
			r = h.do(http.MethodPost, "/v2/mount/dst2/blobs/uploads/?mount="+url.QueryEscape(string(md))+"&from=mount/src", nil)
			expectStatus(t, "mount of a missing blob", r, http.StatusAccepted)
			loc := location(t, "mount of a missing blob", r)
			r = h.do(http.MethodPut, withQuery(t, loc, "digest", string(md)), missing)
			h.expectCreated("upload after failed mount", r, "mount/dst2", md, missing)

			// Mount from a repository that does not have it (another does): 202.
			r = h.do(http.MethodPost, "/v2/mount/dst3/blobs/uploads/?mount="+url.QueryEscape(string(d))+"&from=mount/empty", nil)
			expectStatus(t, "mount from a repo without the blob", r, http.StatusAccepted)
			location(t, "mount from a repo without the blob", r)
			expectStatus(t, "HEAD not mounted", h.do(http.MethodHead, "/v2/mount/dst3/blobs/"+string(d), nil), http.StatusNotFound)

			// Mount from an invalid repository name: 202, not an error.
			r = h.do(http.MethodPost, "/v2/mount/dst3/blobs/uploads/?mount="+url.QueryEscape(string(d))+"&from=..%2Fetc", nil)
			expectStatus(t, "mount from an invalid name", r, http.StatusAccepted)

			// Mount without from: 201 (found elsewhere) or 202 (upload),
			// and whichever it is must hold.
			r = h.do(http.MethodPost, "/v2/mount/dst4/blobs/uploads/?mount="+url.QueryEscape(string(d)), nil)
			switch r.status {
			case http.StatusCreated:
				h.expectCreated("anonymous mount", r, "mount/dst4", d, data)
			case http.StatusAccepted:
				loc := location(t, "anonymous mount", r)
				r = h.do(http.MethodPut, withQuery(t, loc, "digest", string(d)), data)
				h.expectCreated("upload after anonymous mount", r, "mount/dst4", d, data)
			default:
				t.Fatalf("anonymous mount: status %s, want 201 or 202", r)
			}
			// Without from and with no repository holding it: an upload.
			r = h.do(http.MethodPost, "/v2/mount/dst5/blobs/uploads/?mount="+url.QueryEscape(string(alg.FromString("nowhere"))), nil)
			expectStatus(t, "anonymous mount of a missing blob", r, http.StatusAccepted)
			location(t, "anonymous mount of a missing blob", r)
		})
	}
}

// TestConformanceMountManifest mounts a manifest's digest (its bytes live
// in the metadata store, not the blob store): if the registry says 201,
// the target repository must serve those bytes as a blob.
func TestConformanceMountManifest(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			img := h.pushImage("mountm/src", alg, "v1", 13)
			for _, q := range []string{"&from=mountm/src", ""} {
				dst := "mountm/dst" + strconv.Itoa(len(q))
				r := h.do(http.MethodPost, "/v2/"+dst+"/blobs/uploads/?mount="+url.QueryEscape(string(img.digest))+q, nil)
				switch r.status {
				case http.StatusCreated:
					h.expectCreated("mount of a manifest digest", r, dst, img.digest, img.manifest)
				case http.StatusAccepted:
					location(t, "mount of a manifest digest", r)
				default:
					t.Fatalf("mount of a manifest digest: %s, want 201 or 202", r)
				}
			}
		})
	}
}

func TestConformanceUploadSurvivesRestart(t *testing.T) {
	t.Parallel()
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			data := content(5000, 11)
			d := alg.FromBytes(data)
			loc := h.startUpload("push/restart", "?digest-algorithm="+string(alg))
			r := h.do(http.MethodPatch, loc, data[:3000], "Content-Range", "0-2999")
			expectStatus(t, "PATCH before restart", r, http.StatusAccepted)
			loc = location(t, "PATCH before restart", r)

			h.restart()

			// The relative Location works on the new server as is.
			r = h.do(http.MethodGet, loc, nil)
			expectStatus(t, "status after restart", r, http.StatusNoContent)
			expectHeader(t, "status after restart", r, "Range", "0-2999")
			// Out of order is still detected against the stored offset.
			r = h.do(http.MethodPatch, loc, data[:1000], "Content-Range", "0-999")
			expectStatus(t, "repeated chunk after restart", r, http.StatusRequestedRangeNotSatisfiable)
			r = h.do(http.MethodPatch, loc, data[3000:], "Content-Range", "3000-4999")
			expectStatus(t, "PATCH after restart", r, http.StatusAccepted)
			expectHeader(t, "PATCH after restart", r, "Range", "0-4999")
			r = h.do(http.MethodPut, withQuery(t, location(t, "PATCH after restart", r), "digest", string(d)), nil)
			h.expectCreated("PUT after restart", r, "push/restart", d, data)
		})
	}
}

// TestConformanceConcurrentSameBlob pushes one blob from many clients at
// once, each a full POST/PATCH/PUT: all succeed and one file is stored.
func TestConformanceConcurrentSameBlob(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const n = 8
	data := content(256<<10, 12)
	d := digest.FromBytes(data)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			repo := "conc/repo" + strconv.Itoa(i%3)
			r, err := h.send(http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil)
			if err != nil || r.status != http.StatusAccepted {
				t.Errorf("client %d: POST: %v %s", i, err, r)
				return
			}
			r, err = h.send(http.MethodPatch, r.header.Get("Location"), data, "Content-Range", fmt.Sprintf("0-%d", len(data)-1))
			if err != nil || r.status != http.StatusAccepted {
				t.Errorf("client %d: PATCH: %v %s", i, err, r)
				return
			}
			loc, _ := url.Parse(r.header.Get("Location"))
			q := loc.Query()
			q.Set("digest", string(d))
			loc.RawQuery = q.Encode()
			r, err = h.send(http.MethodPut, loc.String(), nil)
			if err != nil || r.status != http.StatusCreated {
				t.Errorf("client %d: PUT: %v %s", i, err, r)
			}
		}(i)
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i := 0; i < 3; i++ {
		h.expectBlob("conc/repo"+strconv.Itoa(i), d, data)
	}
	var files []string
	err := filepath.WalkDir(filepath.Join(h.root, "blobs"), func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !de.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || filepath.Base(files[0]) != d.Encoded() {
		t.Fatalf("blob store holds %v, want exactly one file named %s", files, d.Encoded())
	}
}
