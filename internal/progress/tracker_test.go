package progress

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

type recorder struct {
	mu  sync.Mutex
	evs []Event
}

func (r *recorder) report(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, e)
}

// finals maps each layer to its final status.
func (r *recorder) finals() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	for _, e := range r.evs {
		if e.Final() {
			if prev, ok := out[e.Digest]; ok {
				out[e.Digest] = prev + "+" + e.Status // reported twice: a bug
				continue
			}
			out[e.Digest] = e.Status
		}
	}
	return out
}

// push writes img to ref through a tracker, as imageref and promote do.
func push(t *testing.T, img v1.Image, ref string, host string) *recorder {
	t.Helper()
	var rec recorder
	tr := NewTracker("push", ref, rec.report)
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, tr.Image(img), remote.WithTransport(tr.Transport(nil, host))); err != nil {
		t.Fatal(err)
	}
	return &rec
}

func TestTrackerReportsUploadsSkipsAndMounts(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	host := u.Host
	img, err := random.Image(3<<20, 3)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	digests := map[string]bool{}
	for _, l := range layers {
		d, _ := l.Digest()
		digests[d.String()] = true
	}

	// First push: every layer's bytes, ending in done, nothing else (the
	// config blob is not a layer).
	rec := push(t, img, host+"/team/a:1", host)
	fin := rec.finals()
	if len(fin) != 3 {
		t.Fatalf("final events for %d blobs, want the 3 layers: %v", len(fin), fin)
	}
	for d, s := range fin {
		if !digests[d] || s != Done {
			t.Errorf("layer %s: %s, want done", d, s)
		}
	}
	for _, e := range rec.evs {
		if e.Total <= 0 || e.Bytes > e.Total || e.Ref != host+"/team/a:1" || e.Action != "push" {
			t.Errorf("event %+v", e)
		}
	}
	if n := len(rec.evs); n > 3*22 {
		t.Errorf("%d events for 3 layers of ~1 MiB: not throttled", n)
	}

	// Again: the registry has every layer.
	for d, s := range push(t, img, host+"/team/a:2", host).finals() {
		if s != Exists {
			t.Errorf("second push, layer %s: %s, want exists", d, s)
		}
	}

	// From the registry to another repository of it: nothing moves
	// (ggcr's test registry shares blobs across repositories, so its HEAD
	// finds them; a mount is TestTrackerTransportMount's).
	srcRef, err := name.ParseReference(host + "/team/a:1")
	if err != nil {
		t.Fatal(err)
	}
	src, err := remote.Image(srcRef)
	if err != nil {
		t.Fatal(err)
	}
	fin = push(t, src, host+"/team/b:1", host).finals()
	if len(fin) != 3 {
		t.Fatalf("copy: %v", fin)
	}
	for d, s := range fin {
		if s != Mounted && s != Exists {
			t.Errorf("copy within the registry, layer %s: %s, want mounted or exists", d, s)
		}
	}
}

func TestTrackerReader(t *testing.T) {
	var rec recorder
	tr := NewTracker("pull", "alpine", rec.report)
	data := strings.Repeat("x", 3<<20)
	r := tr.Reader(dA, int64(len(data)), io.NopCloser(strings.NewReader(data)))
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	last := rec.evs[len(rec.evs)-1]
	if first := rec.evs[0]; first.Status != Transferring || first.Bytes != 0 {
		t.Errorf("first event %+v", first)
	}
	if last.Status != Done || last.Bytes != int64(len(data)) || last.Total != int64(len(data)) {
		t.Errorf("last event %+v", last)
	}
	tr.Skipped(dA) // over already: not reported again
	tr.Skipped(dB) // unknown layer: not reported
	if rec.finals()[dA] != Done || len(rec.finals()) != 1 {
		t.Errorf("finals %v", rec.finals())
	}
	tr.Layer(dB, 10)
	tr.Skipped(dB)
	if rec.finals()[dB] != Exists {
		t.Errorf("finals %v", rec.finals())
	}
}

type answer int

func (a answer) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: int(a), Body: http.NoBody}, nil
}

func TestTrackerTransportMount(t *testing.T) {
	var rec recorder
	tr := NewTracker("promote", "r/a:1", rec.report)
	tr.Layer(dA, 5)
	tr.Layer(dB, 5)
	do := func(rt http.RoundTripper, method, u string) {
		req := httptest.NewRequest(method, u, nil)
		if _, err := rt.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
	}
	do(tr.Transport(answer(http.StatusAccepted), "r"), "POST", "http://r/v2/a/blobs/uploads/?mount="+dB+"&from=x")    // refused: an upload follows
	do(tr.Transport(answer(http.StatusCreated), "other"), "POST", "http://r/v2/a/blobs/uploads/?mount="+dA+"&from=x") // not the target
	if len(rec.evs) != 0 {
		t.Fatalf("events %v", rec.evs)
	}
	do(tr.Transport(answer(http.StatusCreated), "r"), "POST", "http://r/v2/a/blobs/uploads/?mount="+dA+"&from=x")
	do(tr.Transport(answer(http.StatusOK), "r"), "HEAD", "http://r/v2/a/blobs/"+dB)
	if f := rec.finals(); f[dA] != Mounted || f[dB] != Exists {
		t.Errorf("finals %v", f)
	}
}
