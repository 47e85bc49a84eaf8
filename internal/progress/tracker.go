package progress

import (
	"io"
	"net/http"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Tracker turns the transfer of one image's layers into Events (a nil
// Tracker reports nothing): bytes as
// the layers are read (Reader, Image, Index), and, from the target
// registry's answers (Transport), which layers it had or mounted.
type Tracker struct {
	action, ref string
	fn          Func

	mu     sync.Mutex
	layers map[string]int64 // digest → size: the layers reported
	final  map[string]bool  // layers whose transfer is over
}

// NewTracker reports action (push, pull, promote) of ref to fn.
func NewTracker(action, ref string, fn Func) *Tracker {
	return &Tracker{action: action, ref: ref, fn: fn, layers: map[string]int64{}, final: map[string]bool{}}
}

// step is how many bytes pass between two Transferring events of a
// layer: a 20th of it, at least 512 KiB, so a layer makes at most ~20.
func step(total int64) int64 { return max(total/20, 512<<10) }

func (t *Tracker) event(digest string, bytes int64, status string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	total, known := t.layers[digest]
	if !known || t.final[digest] {
		t.mu.Unlock()
		return
	}
	if status != Transferring {
		t.final[digest] = true
	}
	t.mu.Unlock()
	t.fn.send(Event{Action: t.action, Ref: t.ref, Digest: digest, Bytes: bytes, Total: total, Status: status})
}

// Layer registers a layer to report: only registered layers are (a
// config blob is not).
func (t *Tracker) Layer(digest string, total int64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.layers[digest]; !ok {
		t.layers[digest] = total
	}
}

// Skipped reports a layer the target already had.
func (t *Tracker) Skipped(digest string) { t.event(digest, 0, Exists) }

// Reader counts the bytes of layer digest read through r: a Transferring
// event at the start and every step, Done at the end (EOF, or every byte
// of a known size).
func (t *Tracker) Reader(digest string, total int64, r io.ReadCloser) io.ReadCloser {
	if t == nil {
		return r
	}
	t.Layer(digest, total)
	t.event(digest, 0, Transferring)
	return &countingReader{t: t, digest: digest, total: total, r: r}
}

type countingReader struct {
	t      *Tracker
	digest string
	total  int64
	r      io.ReadCloser
	n      int64
	last   int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	switch {
	case err == io.EOF || (c.total > 0 && c.n == c.total):
		c.t.event(c.digest, c.n, Done)
	case c.n-c.last >= step(c.total):
		c.last = c.n
		c.t.event(c.digest, c.n, Transferring)
	}
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }

// Image wraps img so reading a layer's compressed bytes reports them. A
// layer of a remote image stays a remote.MountableLayer, so a copy within
// one registry is still a cross-repository mount. A nil Tracker returns img.
func (t *Tracker) Image(img v1.Image) v1.Image {
	if t == nil {
		return img
	}
	return trackedImage{img, t}
}

// Index wraps idx so the layers of its images report (see Image).
func (t *Tracker) Index(idx v1.ImageIndex) v1.ImageIndex {
	if t == nil {
		return idx
	}
	return trackedIndex{idx, t}
}

type trackedImage struct {
	v1.Image
	t *Tracker
}

func (i trackedImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for n, l := range ls {
		out[n] = i.t.layer(l)
	}
	return out, nil
}

// ConfigLayer keeps ggcr's own (a remote image's config is mountable too).
func (i trackedImage) ConfigLayer() (v1.Layer, error) { return partial.ConfigLayer(i.Image) }

// Descriptor keeps the image's (platform, annotations), as ggcr would.
func (i trackedImage) Descriptor() (*v1.Descriptor, error) { return partial.Descriptor(i.Image) }

func (i trackedImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return i.t.layer(l), nil
}

type trackedIndex struct {
	index
	t *Tracker
}

type index = v1.ImageIndex

func (x trackedIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := x.index.Image(h)
	if err != nil {
		return nil, err
	}
	return x.t.Image(img), nil
}

func (x trackedIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	idx, err := x.index.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return x.t.Index(idx), nil
}

func (t *Tracker) layer(l v1.Layer) v1.Layer {
	if ml, ok := l.(*remote.MountableLayer); ok {
		return &remote.MountableLayer{Layer: t.layer(ml.Layer), Reference: ml.Reference}
	}
	d, err := l.Digest()
	if err != nil {
		return l // a streaming layer: not reported
	}
	size, _ := l.Size()
	t.Layer(d.String(), size)
	return trackedLayer{l, t, d.String(), size}
}

type trackedLayer struct {
	v1.Layer
	t      *Tracker
	digest string
	size   int64
}

func (l trackedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	return l.t.Reader(l.digest, l.size, rc), nil
}

// Transport watches the requests to the target registry host: a layer
// its HEAD finds is Exists, one a mount request links is Mounted. A nil
// Tracker returns base.
func (t *Tracker) Transport(base http.RoundTripper, host string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if t == nil {
		return base
	}
	return trackingTransport{base: base, host: host, t: t}
}

type trackingTransport struct {
	base http.RoundTripper
	host string
	t    *Tracker
}

func (tr trackingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := tr.base.RoundTrip(req)
	if err != nil || req.URL.Host != tr.host {
		return resp, err
	}
	path := req.URL.Path
	switch {
	case req.Method == http.MethodHead && resp.StatusCode == http.StatusOK && strings.Contains(path, "/blobs/") && !strings.Contains(path, "/blobs/uploads/"):
		tr.t.event(path[strings.LastIndex(path, "/")+1:], 0, Exists)
	case req.Method == http.MethodPost && resp.StatusCode == http.StatusCreated && strings.Contains(path, "/blobs/uploads/"):
		if d := req.URL.Query().Get("mount"); d != "" {
			tr.t.event(d, 0, Mounted)
		}
	}
	return resp, err
}
