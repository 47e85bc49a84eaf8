package engine_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/api"
	"github.com/berth-dev/berth/internal/engine/logs"
	"github.com/berth-dev/berth/internal/model"
)

// hits records which endpoints of the route table were served.
type hits struct {
	mu   sync.Mutex
	seen []api.Endpoint
}

func (h *hits) take() []api.Endpoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.seen
	h.seen = nil
	return s
}

// serveRouteTable serves the daemon's route table (api.Routes over an
// engine on fakes and a real deployer) on a unix socket with httptest,
// recording every route a request reached.
func serveRouteTable(t *testing.T) (*engine.Engine, []api.Route, *hits, string) {
	t.Helper()
	e := engine.NewFakeEngine(t)
	dep, err := deploy.NewDeployer(e, t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	routes := api.Routes(api.VersionInfo{Version: "test", Root: "/root"}, e, dep)
	h := &hits{}
	wrapped := make([]api.Route, len(routes))
	for i, r := range routes {
		if r.Handler == nil {
			t.Fatalf("route %s has no handler", r.Endpoint)
		}
		wrapped[i] = api.Route{Endpoint: r.Endpoint, Handler: func(w http.ResponseWriter, req *http.Request) {
			h.mu.Lock()
			h.seen = append(h.seen, r.Endpoint)
			h.mu.Unlock()
			r.Handler(w, req)
		}}
	}
	sock := filepath.Join(t.TempDir(), "berth.sock")
	l, err := api.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(api.Mux(wrapped))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return e, routes, h, sock
}

// TestClientMethodsCoverTheRouteTable calls every method of the typed
// client against the real route table: each must reach the route of its
// endpoint and decode what the engine (on fakes) or the deployer answer,
// and together they must reach every route, so no route lacks a client
// method and no method calls a path the server does not serve.
func TestClientMethodsCoverTheRouteTable(t *testing.T) {
	_, routes, h, sock := serveRouteTable(t)
	c := client.New(sock)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spec := model.StackSpec{Name: "demo", Services: []model.ServiceSpec{{Name: "web", Image: "shop/app:1", Replicas: 2}}}

	wantStatus := func(err error, status int) error {
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Status != status {
			return errors.New("got " + errString(err) + ", want HTTP " + http.StatusText(status))
		}
		return nil
	}
	calls := []struct {
		method string
		ep     api.Endpoint
		call   func() error
	}{
		{"Version", api.GetVersion, func() error {
			v, err := c.Version(ctx)
			if err == nil && (v.Version != "test" || v.API != "v1" || v.Root != "/root" || v.PID == 0) {
				return errors.New("version " + v.Version + " " + v.API + " " + v.Root)
			}
			return err
		}},
		{"Ping", api.GetVersion, func() error { return c.Ping(ctx) }},
		{"Pull", api.PullImage, func() error {
			var got []string
			err := c.Pull(ctx, "shop/app:1", func(ev engine.PullEvent) error { got = append(got, ev.Status+" "+ev.Digest); return nil })
			if err == nil && strings.Join(got, ",") != "pulling ,progress ,pulled sha256:shopapp1" {
				return errors.New("pull events " + strings.Join(got, ","))
			}
			return err
		}},
		{"Images", api.ListImages, func() error {
			imgs, err := c.Images(ctx)
			if err == nil && (len(imgs) != 1 || imgs[0].Digest != "sha256:shopapp1") {
				return errors.New("images: want the pulled one")
			}
			return err
		}},
		{"Up", api.StackUp, func() error {
			cs, err := c.Up(ctx, spec)
			if err == nil && len(cs) != 2 {
				return errors.New("up: want 2 containers")
			}
			return err
		}},
		{"Containers", api.ListContainers, func() error {
			cs, err := c.Containers(ctx, "demo")
			if err == nil && len(cs) != 2 {
				return errors.New("containers: want 2")
			}
			return err
		}},
		{"Scale", api.StackScale, func() error {
			cs, err := c.Scale(ctx, "demo", map[string]int{"web": 3})
			if err == nil && len(cs) != 3 {
				return errors.New("scale: want 3 containers")
			}
			return err
		}},
		{"Logs", api.StackLogs, func() error {
			n := 0
			err := c.Logs(ctx, "demo", client.LogsOptions{Service: "web", Tail: 5}, func(logs.Entry) error { n++; return nil })
			if err == nil && n != 0 {
				return errors.New("logs: the fakes write none")
			}
			return err
		}},
		{"Stats", api.GetStats, func() error {
			var samples []engine.StatsSample
			err := c.Stats(ctx, "demo", false, func(s engine.StatsSample) error { samples = append(samples, s); return nil })
			if err == nil && (len(samples) != 1 || len(samples[0].Containers) != 3) {
				return errors.New("stats: want one sample of 3 containers")
			}
			return err
		}},
		{"Exec", api.ContainerExec, func() error {
			var out bytes.Buffer
			code, err := c.Exec(ctx, "demo-web-2", api.ExecRequest{Args: []string{"echo", "hi"}}, nil, &out, nil, nil)
			if err == nil && (code != 7 || out.String() != "echo hi") {
				return errors.New("exec: code/output " + out.String())
			}
			return err
		}},
		{"Volumes", api.ListVolumes, func() error {
			vs, err := c.Volumes(ctx)
			if err == nil && len(vs) != 0 {
				return errors.New("volumes: want none")
			}
			return err
		}},
		{"Certificates", api.ListCerts, func() error {
			cs, err := c.Certificates(ctx)
			if err == nil && (cs == nil || len(cs) != 0) {
				return errors.New("certificates: want an empty list without a proxy")
			}
			return err
		}},
		{"RemoveVolume", api.RemoveVolume, func() error {
			return wantStatus(c.RemoveVolume(ctx, "nothing"), http.StatusNotFound)
		}},
		{"RemoveImage", api.RemoveImage, func() error {
			return wantStatus(c.RemoveImage(ctx, "shop/app:1", false), http.StatusConflict) // in use
		}},
		{"History", api.ServiceHistory, func() error {
			hs, err := c.History(ctx, "demo", "web")
			if err == nil && len(hs) != 0 {
				return errors.New("history: want none before a deploy")
			}
			return err
		}},
		{"Deploy", api.StackDeploy, func() error {
			// A service the spec lacks is refused before anything changes.
			err := c.Deploy(ctx, deploy.Request{Spec: spec, Services: []string{"api"}}, func(deploy.StreamLine) error { return nil })
			if err == nil || !strings.Contains(err.Error(), `no service "api"`) {
				return errors.New("deploy: " + errString(err))
			}
			return nil
		}},
		{"Rollback", api.ServiceRollback, func() error {
			err := c.Rollback(ctx, "demo", "web", 0, func(deploy.StreamLine) error { return nil })
			if err == nil {
				return errors.New("rollback without history succeeded")
			}
			return nil
		}},
		{"Down", api.StackDown, func() error { return c.Down(ctx, "demo", client.DownOptions{Volumes: true}) }},
		{"Prune", api.Prune, func() error {
			rep, err := c.Prune(ctx, true)
			if err == nil && (len(rep.Images) != 1 || len(rep.Errors) != 0) {
				return errors.New("prune: want the unused image gone")
			}
			return err
		}},
	}

	covered := map[api.Endpoint]string{}
	methods := map[string]bool{}
	for _, tc := range calls {
		if err := tc.call(); err != nil {
			t.Fatalf("%s: %v", tc.method, err)
		}
		if got := h.take(); len(got) != 1 || got[0] != tc.ep {
			t.Fatalf("%s reached routes %v, want exactly %s", tc.method, got, tc.ep)
		}
		covered[tc.ep] = tc.method
		methods[tc.method] = true
	}

	// Every client method is among the calls above (Socket talks to nobody).
	ct := reflect.TypeOf(c)
	for i := 0; i < ct.NumMethod(); i++ {
		if m := ct.Method(i).Name; m != "Socket" && !methods[m] {
			t.Errorf("client method %s is not tested against the route table", m)
		}
	}
	// Every route has a client method.
	var missing []string
	for _, r := range routes {
		if _, ok := covered[r.Endpoint]; !ok {
			missing = append(missing, string(r.Endpoint))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("routes no client method calls: %v", missing)
	}
	if len(covered) != len(routes) {
		t.Errorf("client methods reach %d endpoints, the table has %d routes", len(covered), len(routes))
	}
}

// TestRouteTableAnswersUnknownPathsWithJSON: a path no route serves is a
// 404 and a wrong method a 405, both with a JSON error the client reports.
func TestRouteTableAnswersUnknownPathsWithJSON(t *testing.T) {
	_, _, h, sock := serveRouteTable(t)
	c := api.NewClient(sock)
	ctx := context.Background()
	for _, tc := range []struct {
		method, path string
		status       int
		fragment     string
	}{
		{http.MethodGet, "/no/such/thing", http.StatusNotFound, "no API endpoint GET /v1/no/such/thing"},
		{http.MethodPost, "/stacks/demo/explode", http.StatusNotFound, "no API endpoint POST /v1/stacks/demo/explode"},
		{http.MethodGet, "/prune", http.StatusMethodNotAllowed, "does not take GET (it takes POST)"},
	} {
		err := c.Do(ctx, tc.method, tc.path, nil, nil, nil)
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Status != tc.status || !strings.Contains(ae.Message, tc.fragment) {
			t.Errorf("%s %s: got %v, want HTTP %d with %q", tc.method, tc.path, err, tc.status, tc.fragment)
		}
	}
	if got := h.take(); len(got) != 0 {
		t.Errorf("unknown paths reached routes %v", got)
	}

	// The raw answer is JSON, not the mux's plain text.
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}
	resp, err := (&http.Client{Transport: tr}).Get("http://berth/v1/nothing")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" || !bytes.HasPrefix(body, []byte(`{"message":"no API endpoint GET /v1/nothing`)) {
		t.Errorf("raw 404: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
