package console

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/berth-dev/berth/internal/inspect"
)

// fakeDomain implements every port over a value the test changes.
type fakeDomain struct {
	mu        sync.Mutex
	stacks    []Stack
	revisions map[string][]Revision // stack/service →
	logs      []LogLine
	logc      chan LogLine
	rollbacks []string
	images    map[string]*inspect.Report
	inspects  int
	repos     map[string][]Tag
	referrers map[string][]Referrer          // digest →
	deletes   []string                       // repo@ref
	diffs     map[string]*inspect.DiffReport // from→to digests
	diffed    int
	immutable map[string]bool // repo → its tags are immutable
}

// Stats sends a sample of the service's replicas every 20ms, CPU rising.
func (f *fakeDomain) Stats(ctx context.Context, stack, service string, fn func(StatsSample) error) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		st, _ := f.Stacks(ctx)
		var sample StatsSample
		for _, s := range st {
			if s.Name != stack {
				continue
			}
			for _, sv := range s.Services {
				if sv.Name != service {
					continue
				}
				for _, r := range sv.Replicas {
					sample.Replicas = append(sample.Replicas, ReplicaStats{Name: r.Name, Service: sv.Name, CPUPercent: float64(i % 50), MemoryBytes: 8 << 20})
				}
			}
		}
		if err := fn(sample); err != nil {
			return err
		}
	}
}

func (f *fakeDomain) Repositories(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for r := range f.repos {
		out = append(out, r)
	}
	slices.Sort(out)
	return out, nil
}

func (f *fakeDomain) Tags(_ context.Context, repo string) ([]Tag, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tags, ok := f.repos[repo]
	if !ok {
		return nil, fmt.Errorf("repository %s: %w", repo, ErrNoRepository)
	}
	return tags, nil
}

func (f *fakeDomain) Referrers(_ context.Context, repo, digest string) ([]Referrer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.referrers[digest], nil
}

// Delete deletes a tag, or a manifest and its tags; in an immutable
// repository it refuses as the registry does.
func (f *fakeDomain) Delete(_ context.Context, repo, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	tags, ok := f.repos[repo]
	if !ok {
		return fmt.Errorf("repository %s: %w", repo, ErrNoRepository)
	}
	isDigest := strings.Contains(ref, ":")
	var keep []Tag
	for _, t := range tags {
		if (isDigest && t.Digest == ref) || (!isDigest && t.Name == ref) {
			if f.immutable[repo] {
				return fmt.Errorf("tag %s:%s is immutable (it names %s) and cannot be deleted; push a new tag", repo, t.Name, t.Digest)
			}
			continue
		}
		keep = append(keep, t)
	}
	if len(keep) == len(tags) {
		return fmt.Errorf("%s@%s: %w", repo, ref, ErrNoRepository)
	}
	f.repos[repo] = keep
	f.deletes = append(f.deletes, repo+"@"+ref)
	return nil
}

func (f *fakeDomain) Diff(_ context.Context, from, to string) (*inspect.DiffReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.diffed++
	r, ok := f.diffs[from+"→"+to]
	if !ok {
		return nil, fmt.Errorf("image %s: %w", to, ErrNoImage)
	}
	return r, nil
}

func (f *fakeDomain) Inspect(_ context.Context, digest string) (*inspect.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inspects++
	r, ok := f.images[digest]
	if !ok {
		return nil, fmt.Errorf("image %s: %w", digest, ErrNoImage)
	}
	return r, nil
}

func newFake() *fakeDomain {
	f := &fakeDomain{revisions: map[string][]Revision{}, logc: make(chan LogLine, 16), images: map[string]*inspect.Report{}}
	f.repos = map[string][]Tag{"shop/web": {
		{Name: "v1", Digest: "sha256:" + strings.Repeat("1", 64), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 1234, Pushed: time.Unix(1700000000, 0)},
		{Name: "v2", Digest: "sha256:" + strings.Repeat("a", 64), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 1300, Pushed: time.Unix(1700000100, 0)},
		{Name: "latest", Digest: "sha256:" + strings.Repeat("a", 64), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 1300, Pushed: time.Unix(1700000100, 0)},
	}}
	f.referrers = map[string][]Referrer{"sha256:" + strings.Repeat("a", 64): {
		{Digest: "sha256:" + strings.Repeat("5", 64), ArtifactType: "application/vnd.dev.sigstore.bundle.v0.3+json", Size: 3000},
		{Digest: "sha256:" + strings.Repeat("6", 64), ArtifactType: "application/spdx+json", Size: 90000},
	}}
	f.images["sha256:"+strings.Repeat("a", 64)] = &inspect.Report{Digest: "sha256:" + strings.Repeat("a", 64), Size: 3 << 20, UncompressedSize: 9 << 20, Files: 12, Inodes: 20, Efficiency: 0.98,
		Layers: []inspect.Layer{
			{Index: 0, Concern: "debian packages", Digest: "sha256:" + strings.Repeat("b", 64), Size: 2 << 20, UncompressedSize: 6 << 20, Files: 10, Inodes: 16},
			{Index: 1, Concern: "app binary", Digest: "sha256:" + strings.Repeat("c", 64), Size: 1 << 20, UncompressedSize: 3 << 20, Files: 2, Inodes: 4},
		},
		Config: inspect.Config{Entrypoint: []string{"/app/goapp"}, Labels: map[string]string{"org.opencontainers.image.title": "web"}}}
	f.stacks = []Stack{{Name: "shop", Services: []Service{{Stack: "shop", Name: "web", Labels: map[string]string{"team": "core"}, Replicas: []Replica{
		{Name: "shop-web-1", Replica: 1, State: "running", Health: "healthy", Ports: []string{"127.0.0.1:8080->80/tcp"}, Digest: "sha256:" + strings.Repeat("a", 64), Revision: 2},
		{Name: "shop-web-2", Replica: 2, State: "running", Health: "healthy", Ports: []string{"127.0.0.1:8080->80/tcp"}, Digest: "sha256:" + strings.Repeat("a", 64), Revision: 2},
	}}}}}
	f.revisions["shop/web"] = []Revision{
		{Number: 1, Image: "shop/web:v1", Digest: "sha256:" + strings.Repeat("1", 64), ConfigHash: "sha256:" + strings.Repeat("c", 64), Outcome: "deployed", Created: time.Unix(1700000000, 0)},
		{Number: 2, Image: "shop/web:v2", Digest: "sha256:" + strings.Repeat("a", 64), ConfigHash: "sha256:" + strings.Repeat("d", 64), Outcome: "deployed", Current: true, Created: time.Unix(1700000100, 0)},
	}
	f.diffs = map[string]*inspect.DiffReport{"sha256:" + strings.Repeat("1", 64) + "→sha256:" + strings.Repeat("a", 64): {
		From: "sha256:" + strings.Repeat("1", 64), To: "sha256:" + strings.Repeat("a", 64),
		Files:    []inspect.FileChange{{Path: "/app/goapp", Change: "changed", Type: "file", What: []string{"content"}}, {Path: "/etc/new.conf", Change: "added", Type: "file"}},
		Packages: []inspect.PackageChange{{Name: "libssl3", Change: "changed", From: "3.0.11-1~deb12u1", To: "3.0.11-1~deb12u2"}},
		Config:   []inspect.ConfigChange{{Field: "env VERSION", Change: "changed", From: "1", To: "2"}},
	}}
	f.logs = []LogLine{{Time: time.Unix(1700000200, 0), Source: "shop-web-1", Stream: "stdout", Text: "listening on :80\n"}}
	return f
}

func (f *fakeDomain) Stacks(context.Context) ([]Stack, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// A deep enough copy: the hub keeps what it got.
	out := make([]Stack, len(f.stacks))
	for i, s := range f.stacks {
		out[i] = Stack{Name: s.Name, Services: append([]Service(nil), s.Services...)}
		for j, sv := range out[i].Services {
			out[i].Services[j].Replicas = append([]Replica(nil), sv.Replicas...)
		}
	}
	return out, nil
}

func (f *fakeDomain) Revisions(_ context.Context, stack, service string) ([]Revision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Revision(nil), f.revisions[stack+"/"+service]...), nil
}

// Rollback records a new revision restoring to's digest and moves the
// replicas onto it, as the deployer does.
func (f *fakeDomain) Rollback(_ context.Context, stack, service string, to int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := stack + "/" + service
	revs := f.revisions[key]
	var target *Revision
	for i := range revs {
		if revs[i].Number == to {
			target = &revs[i]
		}
	}
	if target == nil {
		return fmt.Errorf("service %s has no revision %d", service, to)
	}
	n := revs[len(revs)-1].Number + 1
	nr := *target
	nr.Number, nr.RollbackOf, nr.Current, nr.Created = n, to, true, time.Now()
	for i := range revs {
		revs[i].Current = false
	}
	f.revisions[key] = append(revs, nr)
	f.rollbacks = append(f.rollbacks, fmt.Sprintf("%s to %d", key, to))
	f.setReplicas(stack, service, func(r *Replica) { r.Digest, r.Revision = nr.Digest, n })
	return nil
}

func (f *fakeDomain) setReplicas(stack, service string, fn func(*Replica)) {
	for i := range f.stacks {
		for j := range f.stacks[i].Services {
			sv := &f.stacks[i].Services[j]
			if f.stacks[i].Name == stack && sv.Name == service {
				reps := append([]Replica(nil), sv.Replicas...)
				for k := range reps {
					fn(&reps[k])
				}
				sv.Replicas = reps
			}
		}
	}
}

// change runs fn on the domain (a test's "something happened").
func (f *fakeDomain) change(fn func(f *fakeDomain)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeDomain) Logs(ctx context.Context, q LogQuery, fn func(LogLine) error) error {
	if !q.Follow {
		f.mu.Lock()
		lines := append([]LogLine(nil), f.logs...)
		f.mu.Unlock()
		for _, l := range lines {
			if err := fn(l); err != nil {
				return err
			}
		}
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case l := <-f.logc:
			if err := fn(l); err != nil {
				return err
			}
		}
	}
}

const testPassword = "correct horse"

// newTestServer starts a console over a fake domain with user "ops".
func newTestServer(t *testing.T) (*httptest.Server, *fakeDomain, *Server) {
	t.Helper()
	return newTestServerWith(t, nil)
}

// newTestServerWith is newTestServer with its Config changed by opt.
func newTestServerWith(t *testing.T, opt func(*Config)) (*httptest.Server, *fakeDomain, *Server) {
	t.Helper()
	f := newFake()
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Ports: Ports{Stacks: f, Deploys: f, Logs: f, Images: f, Stats: f, Registry: f}, Users: Users{"ops": hash}, Token: "tok-" + strings.Repeat("9", 20), Poll: 50 * time.Millisecond}
	if opt != nil {
		opt(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.Close(); s.Close() })
	return ts, f, s
}

// client returns an HTTP client with a cookie jar that does not follow
// redirects.
func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// login logs c in as ops and returns the session's CSRF token.
func login(t *testing.T, ts *httptest.Server, c *http.Client) string {
	t.Helper()
	body := get(t, c, ts.URL+"/login", http.StatusOK)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("login page has no csrf field:\n%s", body)
	}
	resp, err := c.PostForm(ts.URL+"/login", url.Values{"csrf": {m[1]}, "user": {"ops"}, "password": {testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %s", resp.Status)
	}
	page := get(t, c, ts.URL+"/", http.StatusOK)
	m = csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf token on the stacks page:\n%s", page)
	}
	return m[1]
}

func get(t *testing.T, c *http.Client, u string, want int) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %s, want %d\n%s", u, resp.Status, want, b.String())
	}
	return b.String()
}
