package registry_test

import (
	"bytes"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/berth-dev/berth/internal/registry"
)

// randomToken returns n random upper-case letters: a valid HTTP method
// token that no real method matches, and an invalid repository name.
func randomToken(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'A' + byte(rng.IntN(26))
	}
	return string(b)
}

var labelRE = regexp.MustCompile(`(route|method|code)="([^"]*)"`)

// requestLabels returns the distinct values of each label of the request
// metrics in a /metrics body.
func requestLabels(body []byte) map[string]map[string]bool {
	out := map[string]map[string]bool{"route": {}, "method": {}, "code": {}}
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "berth_registry_http_request") {
			continue
		}
		for _, m := range labelRE.FindAllStringSubmatch(line, -1) {
			out[m[1]][m[2]] = true
		}
	}
	return out
}

// TestMetricsLabelsBounded floods the registry, unauthenticated, with
// requests carrying distinct long made-up methods and invalid repository
// names. The label values must stay within fixed sets and /metrics must
// stay small (it grew by megabytes per few hundred requests when the raw
// method was a label).
func TestMetricsLabelsBounded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	before := h.do(http.MethodGet, "/metrics", nil)
	expectStatus(t, "GET /metrics", before, http.StatusOK)

	rng := rand.New(rand.NewPCG(1, 2))
	const n = 100
	targets := make([][2]string, 0, 2*n)
	for range n {
		targets = append(targets,
			[2]string{randomToken(rng, 4096), "/v2/"},
			[2]string{http.MethodGet, "/v2/" + randomToken(rng, 2048) + "/manifests/latest"})
	}
	targets = append(targets, [2]string{randomToken(rng, 4096), "/v2/" + randomToken(rng, 2048) + "/blobs/uploads/"})
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, tg := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, err := h.send(tg[0], tg[1], nil)
			if err != nil {
				t.Error(err)
				return
			}
			if r.status < 400 {
				t.Errorf("%.20s... %.40s...: status %d, want an error", tg[0], tg[1], r.status)
			}
		}()
	}
	wg.Wait()

	after := h.do(http.MethodGet, "/metrics", nil)
	expectStatus(t, "GET /metrics", after, http.StatusOK)
	if grown := len(after.body) - len(before.body); grown > 32<<10 {
		t.Errorf("/metrics grew by %d bytes (%d -> %d) after %d requests; want under 32 KiB", grown, len(before.body), len(after.body), len(targets))
	}
	labels := requestLabels(after.body)
	allowed := map[string]map[string]bool{
		"method": {"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true,
			"OPTIONS": true, "CONNECT": true, "TRACE": true, "other": true},
		"route": {"other": true, "base": true, "catalog": true, "manifest": true, "blob": true, "upload_start": true,
			"upload": true, "tags": true, "referrers": true, "invalid": true},
	}
	for name, set := range allowed {
		var bad []string
		for v := range labels[name] {
			if !set[v] {
				bad = append(bad, v)
			}
		}
		if len(bad) > 0 {
			t.Errorf("label %s has %d values outside its fixed set, e.g. %.60q (%d bytes)", name, len(bad), bad[0], len(bad[0]))
		}
	}
	if !labels["method"]["other"] {
		t.Errorf("no method=\"other\" series after unknown methods (%d method values)", len(labels["method"]))
	}
	if !labels["route"]["invalid"] {
		t.Errorf("no route=\"invalid\" series after invalid repository names (%d route values)", len(labels["route"]))
	}
	if len(labels["code"]) > 10 {
		t.Errorf("%d distinct code labels", len(labels["code"]))
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServerLimitsHeaderSize checks the registry's http.Server: a request
// whose headers exceed the limit gets 431, a large (32 KiB) bearer token
// still gets through, and the access log line of a request with a long
// made-up method, path and User-Agent stays short.
func TestServerLimitsHeaderSize(t *testing.T) {
	t.Parallel()
	cfg := registry.DefaultConfig()
	cfg.Root = t.TempDir()
	cfg.GC.Interval = 0
	cfg.Log.Access = true
	var logs syncBuffer
	reg, err := registry.Open(cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = reg.HTTPServer(nil)
	srv.Start()
	defer srv.Close()

	send := func(method, path string, hdr http.Header) int {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = hdr
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	rng := rand.New(rand.NewPCG(3, 4))
	big := http.Header{"Authorization": {"Bearer " + randomToken(rng, 32<<10)}}
	if got := send(http.MethodGet, "/v2/", big); got != http.StatusOK {
		t.Errorf("GET /v2/ with a 32 KiB bearer token: status %d, want 200", got)
	}
	huge := http.Header{"X-Filler": {randomToken(rng, registry.MaxHeaderBytes+8<<10)}}
	if got := send(http.MethodGet, "/v2/", huge); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("GET /v2/ with %d bytes of headers: status %d, want 431", registry.MaxHeaderBytes+8<<10, got)
	}

	logs.mu.Lock()
	logs.b.Reset()
	logs.mu.Unlock()
	long := http.Header{"User-Agent": {randomToken(rng, 16<<10)}}
	send(randomToken(rng, 16<<10), "/v2/"+randomToken(rng, 16<<10)+"/tags/list", long)
	line := strings.TrimSpace(logs.String())
	if !strings.Contains(line, `"msg":"request"`) {
		t.Fatalf("no access log line; log: %.300s", line)
	}
	if len(line) > 4<<10 {
		t.Errorf("access log line of a request with 16 KiB method, path and agent is %d bytes; want under 4 KiB", len(line))
	}
}
