package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/engine/api"
	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/progress"
)

// fakeImageStore is fakeImages with state: what was pulled, what is
// mounted (so removal of an image in use is refused by container ID, as
// the real store does) and snapshots to prune.
type fakeImageStore struct {
	fakeImages
	mu        sync.Mutex
	imgs      map[string]ImageSummary // by digest
	mounts    map[string]string       // container dir → digest
	snapshots int                     // unpacked snapshots of removed images
}

func newFakeImageStore() *fakeImageStore {
	return &fakeImageStore{imgs: map[string]ImageSummary{}, mounts: map[string]string{}}
}

func (s *fakeImageStore) Resolve(ctx context.Context, ref string) (ImageInfo, error) {
	if strings.HasPrefix(ref, "sha256:") {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.imgs[ref]; !ok {
			return ImageInfo{}, fmt.Errorf("image not found: %s", ref)
		}
		return ImageInfo{Digest: ref, Cmd: []string{"/app"}}, nil
	}
	return s.Pull(ctx, ref)
}

func (s *fakeImageStore) Pull(ctx context.Context, ref string) (ImageInfo, error) {
	if ref == "missing" {
		return ImageInfo{}, fmt.Errorf("pull %s: manifest unknown", ref)
	}
	d := "sha256:" + strings.NewReplacer("/", "", ":", "").Replace(ref)
	if fn := progress.FromContext(ctx); fn != nil { // as the store reports a layer
		fn(progress.Event{Action: "pull", Ref: ref, Digest: "sha256:layer", Bytes: 1000, Total: 1000, Status: progress.Done})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.imgs[d]; !ok {
		s.imgs[d] = ImageSummary{Names: []string{ref}, Digest: d, Size: 1000, Created: time.Unix(1e9, 0).UTC()}
	}
	return ImageInfo{Digest: d, Cmd: []string{"/app"}}, nil
}

func (s *fakeImageStore) Rootfs(ctx context.Context, digest, dir string) (string, error) {
	s.mu.Lock()
	s.mounts[dir] = digest
	s.mu.Unlock()
	return s.fakeImages.Rootfs(ctx, digest, dir)
}

func (s *fakeImageStore) ReleaseRootfs(dir string) error {
	s.mu.Lock()
	delete(s.mounts, dir)
	s.mu.Unlock()
	return s.fakeImages.ReleaseRootfs(dir)
}

func (s *fakeImageStore) List() ([]ImageSummary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ImageSummary, 0, len(s.imgs))
	for _, i := range s.imgs {
		out = append(out, i)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out, nil
}

func (s *fakeImageStore) Remove(ref string, force bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var digest string
	for d, i := range s.imgs {
		if d == ref || len(i.Names) > 0 && normalized(i.Names[0]) == normalized(ref) {
			digest = d
		}
	}
	if digest == "" {
		return fmt.Errorf("image not found: %s", ref)
	}
	if !force {
		var ids []string
		for dir, d := range s.mounts {
			if d == digest {
				ids = append(ids, filepath.Base(dir))
			}
		}
		if len(ids) > 0 {
			return fmt.Errorf("image is in use: image %s is used by container(s) %s", digest, strings.Join(ids, ", "))
		}
	}
	delete(s.imgs, digest)
	s.snapshots++
	return nil
}

// normalized is a crude stand-in for the store's name normalisation
// ("app" is docker.io/library/app:latest).
func normalized(ref string) string {
	if !strings.Contains(ref, "/") {
		ref = "docker.io/library/" + ref
	}
	if !strings.Contains(ref[strings.LastIndex(ref, "/"):], ":") {
		ref += ":latest"
	}
	return ref
}

func (s *fakeImageStore) PruneSnapshots() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.snapshots
	s.snapshots = 0
	return n, nil
}

// serveManageAPI starts an engine on the fakes (with the stateful image store)
// behind its API on a real unix socket.
func serveManageAPI(t *testing.T, root string, imgs *fakeImageStore, rt *fakeRuntime, nets *fakeNets) (*Engine, *api.Client) {
	t.Helper()
	e, err := New(root, imgs, rt, nets, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "berth.sock")
	l, err := api.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: testHandler(e)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close(); e.Close() })
	return e, api.NewClient(sock)
}

// wantAPIError checks err is the daemon's error with status and every
// fragment in its message.
func wantAPIError(t *testing.T, what string, err error, status int, fragments ...string) {
	t.Helper()
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != status {
		t.Fatalf("%s: got %v, want HTTP %d", what, err, status)
	}
	for _, f := range fragments {
		if !strings.Contains(ae.Message, f) {
			t.Fatalf("%s: message %q lacks %q", what, ae.Message, f)
		}
	}
}

func TestAPIImagesPullListRemove(t *testing.T) {
	imgs := newFakeImageStore()
	_, c := serveManageAPI(t, t.TempDir(), imgs, newFakeRuntime(), newFakeNets())
	ctx := context.Background()

	ref := "oci-layout:/srv/images/app:v1" // slashes and colons go through the path
	var events []PullEvent
	err := c.Stream(ctx, http.MethodPost, "/images/pull", nil, PullRequest{Ref: ref}, func(raw json.RawMessage) error {
		var ev PullEvent
		json.Unmarshal(raw, &ev)
		events = append(events, ev)
		return nil
	})
	if err != nil || len(events) != 3 || events[0].Status != "pulling" || events[2].Status != "pulled" || events[2].Digest == "" {
		t.Fatalf("pull: %+v %v", events, err)
	}
	// The store's layer progress is streamed between them.
	if p := events[1].Progress; events[1].Status != "progress" || p == nil || p.Digest != "sha256:layer" || p.Bytes != 1000 || p.Status != progress.Done {
		t.Fatalf("pull progress: %+v", events[1])
	}
	err = c.Stream(ctx, http.MethodPost, "/images/pull", nil, PullRequest{Ref: "missing"}, func(json.RawMessage) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "manifest unknown") {
		t.Fatalf("pull of a missing image: %v", err)
	}
	wantAPIError(t, "pull without ref", c.Do(ctx, http.MethodPost, "/images/pull", nil, PullRequest{}, nil), http.StatusBadRequest, "ref is empty")

	spec := model.StackSpec{Services: []model.ServiceSpec{{Name: "web", Image: ref, Replicas: 2}}}
	if err := c.Do(ctx, http.MethodPost, "/stacks/demo/up", nil, spec, nil); err != nil {
		t.Fatal(err)
	}
	var list []Image
	if err := c.Do(ctx, http.MethodGet, "/images", nil, nil, &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Names[0] != ref || strings.Join(list[0].Containers, ",") != "demo-web-1,demo-web-2" {
		t.Fatalf("images: %+v", list)
	}

	rmi := func(ref string, force bool) error {
		q := url.Values{}
		if force {
			q.Set("force", "1")
		}
		return c.Do(ctx, http.MethodDelete, "/images/"+url.PathEscape(ref), q, nil, nil)
	}
	// In use: refused, naming the containers, whether asked by name or by
	// a digest prefix.
	wantAPIError(t, "rmi in use", rmi(ref, false), http.StatusConflict, "demo-web-1, demo-web-2", "berth rmi -f")
	wantAPIError(t, "rmi by digest in use", rmi(list[0].Digest, false), http.StatusConflict, "demo-web-1")
	wantAPIError(t, "rmi of nothing", rmi("nothing", false), http.StatusConflict, "not found")

	if err := c.Do(ctx, http.MethodPost, "/stacks/demo/down", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := rmi(ref, false); err != nil {
		t.Fatalf("rmi after down: %v", err)
	}
	if c.Do(ctx, http.MethodGet, "/images", nil, nil, &list); len(list) != 0 {
		t.Fatalf("images after rmi: %+v", list)
	}
}

func TestRemoveImageNamesContainersTheStoreReports(t *testing.T) {
	// A reference written differently from the stored name (the real store
	// normalises "app" to docker.io/library/app:latest) escapes the
	// engine's own match; the store's refusal by container ID is turned
	// into container names.
	imgs := newFakeImageStore()
	e, _ := serveManageAPI(t, t.TempDir(), imgs, newFakeRuntime(), newFakeNets())
	if err := e.Up(context.Background(), model.StackSpec{Name: "s", Services: []model.ServiceSpec{{Name: "web", Image: "app"}}}); err != nil {
		t.Fatal(err)
	}
	imgs.mu.Lock()
	imgs.imgs["sha256:app"] = ImageSummary{Names: []string{"docker.io/library/app:latest"}, Digest: "sha256:app"}
	imgs.mu.Unlock()
	err := e.RemoveImage("app:latest", false)
	if err == nil || !strings.Contains(err.Error(), "in use by container(s) s-web-1") {
		t.Fatalf("RemoveImage: %v", err)
	}
	if err := e.RemoveImage("app:latest", true); err != nil {
		t.Fatalf("forced RemoveImage: %v", err)
	}
}
