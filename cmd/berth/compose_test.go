package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/api"
	"github.com/berth-dev/berth/internal/engine/logs"
	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/internal/proxy"
)

// fakeDaemon answers the stack endpoints on a unix socket and records the
// requests, so CLI tests see what berth asks the daemon.
type fakeDaemon struct {
	sock string
	mu   sync.Mutex
	reqs []*http.Request
	up   model.StackSpec // the last berth up's spec
	// certs answers GET /certificates (ps asks after listing; not
	// recorded in reqs).
	certs []proxy.CertStatus
}

var logT0 = time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)

func newFakeDaemon(t *testing.T) *fakeDaemon {
	t.Helper()
	d := &fakeDaemon{sock: filepath.Join(t.TempDir(), "berth.sock")}
	l, err := api.Listen(d.sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/certificates") {
			d.mu.Lock()
			certs := append([]proxy.CertStatus{}, d.certs...)
			d.mu.Unlock()
			api.WriteJSON(w, http.StatusOK, certs)
			return
		}
		d.mu.Lock()
		d.reqs = append(d.reqs, r)
		d.mu.Unlock()
		cs := []engine.Container{
			{Name: "demo-web-1", Stack: "demo", Service: "web", State: engine.StateRunning, StartedAt: time.Now()},
			{Name: "demo-job-1", Stack: "demo", Service: "job", State: engine.StateExited, ExitCode: 3},
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/containers"), strings.HasSuffix(r.URL.Path, "/scale"):
			api.WriteJSON(w, http.StatusOK, cs)
		case strings.HasSuffix(r.URL.Path, "/images/pull"):
			ew := api.NewEventWriter(w)
			ew.Send(engine.PullEvent{Status: "pulling", Ref: "alpine:3.20"})
			ew.Send(engine.PullEvent{Status: "progress", Ref: "alpine:3.20", Progress: &progress.Event{Action: "pull", Digest: "sha256:layer", Bytes: 7, Total: 7, Status: progress.Done}})
			ew.Send(engine.PullEvent{Status: "pulled", Ref: "alpine:3.20", Digest: "sha256:image"})
		case strings.HasSuffix(r.URL.Path, "/logs"):
			ew := api.NewEventWriter(w)
			ew.Send(logs.Entry{Time: logT0, Stream: "stdout", Log: "early\n", Source: "demo-web-1"})
			ew.Send(logs.Entry{Time: logT0.Add(time.Hour), Stream: "stdout", Log: "late\n", Source: "demo-web-1"})
			if r.URL.Query().Get("follow") == "1" {
				<-r.Context().Done() // nothing new: only the client ends it
			}
		case strings.HasSuffix(r.URL.Path, "/version"):
			api.WriteJSON(w, http.StatusOK, api.VersionInfo{})
		case strings.HasSuffix(r.URL.Path, "/up"):
			d.mu.Lock()
			d.up = model.StackSpec{}
			err := json.NewDecoder(r.Body).Decode(&d.up)
			d.mu.Unlock()
			if err != nil {
				api.WriteError(w, http.StatusBadRequest, err)
				return
			}
			api.WriteJSON(w, http.StatusOK, cs)
		case strings.HasSuffix(r.URL.Path, "/down"):
			api.WriteJSON(w, http.StatusOK, map[string]string{"status": "removed"})
		default:
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return d
}

// last is the query of the last request.
func (d *fakeDaemon) last(t *testing.T) url.Values {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.reqs) == 0 {
		t.Fatal("no request reached the daemon")
	}
	return d.reqs[len(d.reqs)-1].URL.Query()
}

// composeDir is a compose project called demo (name from ${STACK}, which
// .env sets) with a subdirectory to run berth in.
func composeDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("name: ${STACK}\nservices:\n  web:\n    image: busybox:1\n  job:\n    image: busybox:1\n  debug:\n    image: busybox:1\n    profiles: [dev]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".env"), []byte("STACK=demo\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "other.env"), []byte("STACK=other\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "src", "pkg"), 0o755)
	return dir
}

// TestPsScopedToProject: ps lists the stack of the file found from here
// (a parent directory's compose.yaml), running containers only unless
// -a; -q prints names; --format json as compose; --json as before (every
// container); --all-projects every stack.
func TestPsScopedToProject(t *testing.T) {
	d := newFakeDaemon(t)
	dir := composeDir(t)
	t.Chdir(filepath.Join(dir, "src", "pkg"))
	out, _, err := runCLI(t, "ps", "--socket", d.sock)
	if err != nil || d.last(t).Get("stack") != "demo" || !strings.Contains(out, "demo-web-1") || strings.Contains(out, "demo-job-1") {
		t.Fatalf("ps: %v stack=%q\n%s", err, d.last(t).Get("stack"), out)
	}
	if out, _, err = runCLI(t, "ps", "-a", "--socket", d.sock); err != nil || !strings.Contains(out, "demo-job-1") || !strings.Contains(out, "exited (3)") {
		t.Fatalf("ps -a: %v\n%s", err, out)
	}
	if strings.Contains(out, "CERTIFICATE") {
		t.Fatalf("ps without tls: auto certificates shows a certificate table:\n%s", out)
	}
	// The proxy's tls: auto certificates end the table (not -q, not JSON).
	d.mu.Lock()
	d.certs = []proxy.CertStatus{{Host: "shop.example.com", NotAfter: time.Now().Add(50 * 24 * time.Hour), RenewAt: time.Now().Add(20 * 24 * time.Hour)}}
	d.mu.Unlock()
	if out, _, err = runCLI(t, "ps", "--socket", d.sock); err != nil || !strings.Contains(out, "shop.example.com") || !strings.Contains(out, "days)") {
		t.Fatalf("ps with a certificate: %v\n%s", err, out)
	}
	if out, _, err = runCLI(t, "ps", "-q", "--socket", d.sock); err != nil || strings.Contains(out, "shop.example.com") {
		t.Fatalf("ps -q with a certificate: %v\n%s", err, out)
	}
	d.mu.Lock()
	d.certs = nil
	d.mu.Unlock()
	if out, _, err = runCLI(t, "ps", "-q", "-a", "--socket", d.sock); err != nil || out != "demo-web-1\ndemo-job-1\n" {
		t.Fatalf("ps -q -a: %v %q", err, out)
	}
	var cs []engine.Container
	out, _, err = runCLI(t, "ps", "--format", "json", "--socket", d.sock)
	if err != nil || json.Unmarshal([]byte(out), &cs) != nil || len(cs) != 1 || cs[0].Name != "demo-web-1" {
		t.Fatalf("ps --format json: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, "ps", "--json", "--socket", d.sock)
	if err != nil || json.Unmarshal([]byte(out), &cs) != nil || len(cs) != 2 {
		t.Fatalf("ps --json: %v\n%s", err, out)
	}
	if _, _, err = runCLI(t, "ps", "--format", "yaml", "--socket", d.sock); err == nil || !strings.Contains(err.Error(), "--format") {
		t.Fatalf("ps --format yaml: %v", err)
	}
	// --env-file replaces .env for the project name's interpolation.
	if _, _, err = runCLI(t, "ps", "--env-file", filepath.Join(dir, "other.env"), "--socket", d.sock); err != nil || d.last(t).Get("stack") != "other" {
		t.Fatalf("ps --env-file: %v stack=%q", err, d.last(t).Get("stack"))
	}
	t.Chdir(t.TempDir())
	if _, _, err = runCLI(t, "ps", "--all-projects", "--socket", d.sock); err != nil || d.last(t).Has("stack") {
		t.Fatalf("ps --all-projects: %v %v", err, d.last(t))
	}
	if _, _, err = runCLI(t, "ps", "--socket", d.sock); err == nil || !strings.Contains(err.Error(), "--all-projects") {
		t.Fatalf("ps without a project: %v", err)
	}
	// COMPOSE_FILE and COMPOSE_PROJECT_NAME, as compose reads them.
	t.Setenv("COMPOSE_FILE", filepath.Join(dir, "compose.yaml"))
	t.Setenv("COMPOSE_PROJECT_NAME", "fromenv")
	if _, _, err = runCLI(t, "ps", "--socket", d.sock); err != nil || d.last(t).Get("stack") != "fromenv" {
		t.Fatalf("ps with COMPOSE_FILE, COMPOSE_PROJECT_NAME: %v stack=%q", err, d.last(t).Get("stack"))
	}
}

// TestLogsComposeFlags: logs takes several services, --file before or
// after them, --tail all or N, and --until.
func TestLogsComposeFlags(t *testing.T) {
	d := newFakeDaemon(t)
	dir := composeDir(t)
	file := filepath.Join(dir, "compose.yaml")
	until := logT0.Add(time.Minute).Format(time.RFC3339)
	for _, args := range [][]string{
		{"logs", "--file", file, "web", "job", "--tail", "all", "--until", until},
		{"logs", "web", "job", "--file", file, "--until", until},
	} {
		out, _, err := runCLI(t, append(args, "--socket", d.sock)...)
		q := d.last(t)
		if err != nil || strings.Join(q["service"], ",") != "web,job" || q.Has("tail") {
			t.Fatalf("berth %s: %v %v", strings.Join(args, " "), err, q)
		}
		if !strings.Contains(out, "early") || strings.Contains(out, "late") {
			t.Fatalf("berth %s: --until let through:\n%s", strings.Join(args, " "), out)
		}
	}
	if _, _, err := runCLI(t, "logs", "-n", "5", "--file", file, "--socket", d.sock); err != nil || d.last(t).Get("tail") != "5" {
		t.Fatalf("logs -n 5: %v %v", err, d.last(t))
	}
	// Following stops at --until even when no line comes.
	done := make(chan error, 1)
	go func() {
		_, _, err := runCLI(t, "logs", "-f", "--until", time.Now().Add(100*time.Millisecond).Format(time.RFC3339Nano), "--file", file, "--socket", d.sock)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("logs -f --until: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("logs -f --until kept following")
	}
	for arg, want := range map[string]string{"--tail": "--tail", "--until": "--until"} {
		if _, _, err := runCLI(t, "logs", arg, "soon", "--file", file, "--socket", d.sock); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("logs %s soon: %v", arg, err)
		}
	}
}

// TestDownTimeoutSeconds: -t/--timeout is seconds, as in compose; Go
// durations still work.
func TestDownTimeoutSeconds(t *testing.T) {
	d := newFakeDaemon(t)
	for arg, want := range map[string]string{"30": "30s", "1m": "1m0s"} {
		if _, _, err := runCLI(t, "down", "-p", "demo", "-t", arg, "--socket", d.sock); err != nil || d.last(t).Get("timeout") != want {
			t.Errorf("down -t %s: %v %v", arg, err, d.last(t))
		}
	}
	if _, _, err := runCLI(t, "down", "-p", "demo", "--socket", d.sock); err != nil || d.last(t).Has("timeout") {
		t.Errorf("down: %v %v", err, d.last(t))
	}
	if _, _, err := runCLI(t, "down", "-p", "demo", "--timeout", "soon", "--socket", d.sock); err == nil || !strings.Contains(err.Error(), "seconds") {
		t.Errorf("down --timeout soon: %v", err)
	}
	if _, _, err := runCLI(t, "up", "--wait-timeout", "x", "--help"); err == nil {
		t.Errorf("up --wait-timeout x accepted")
	}
}

// TestEnvironmentFlag: -E/--environment names berth.yaml's environment;
// --env NAME still does, with a deprecation warning on stderr; exec's
// -e/--env stays a variable.
func TestEnvironmentFlag(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "berth.yaml")
	os.WriteFile(f, []byte("vars:\n  TAG: \"1\"\nservices:\n  web:\n    image: busybox:${TAG}\nenvironments:\n  prod:\n    vars:\n      TAG: \"2\"\n"), 0o644)
	for _, args := range [][]string{{"-E", "prod"}, {"--environment", "prod"}, {"--env", "prod"}} {
		out, stderr, err := runCLI(t, append([]string{"config", "-f", f}, args...)...)
		if err != nil || !strings.Contains(out, "busybox:2") {
			t.Fatalf("config %v: %v\n%s", args, err, out)
		}
		deprecated := strings.Contains(stderr, "--env prod is deprecated") && strings.Contains(stderr, "--environment")
		if deprecated != (args[0] == "--env") {
			t.Errorf("config %v: stderr %q", args, stderr)
		}
	}
	if _, _, err := runCLI(t, "config", "-f", f, "--env", "prod", "-E", "staging"); err == nil || !strings.Contains(err.Error(), "disagree") {
		t.Errorf("--env and -E disagreeing: %v", err)
	}
	for _, cmd := range []string{"up", "deploy", "ship", "down", "logs", "ps"} {
		out, _, err := runCLI(t, cmd, "--help")
		if err != nil || !strings.Contains(out, "-E, --environment NAME") || strings.Contains(out, "  --env ") {
			t.Errorf("%s --help: %v\n%s", cmd, err, out)
		}
	}
	if out, _, _ := runCLI(t, "exec", "--help"); !strings.Contains(out, "-e, --env KEY=VALUE") {
		t.Errorf("exec --help:\n%s", out)
	}
}

// TestProfileFlag: --profile (and COMPOSE_PROFILES) activate compose
// profiles on the stack commands.
func TestProfileFlag(t *testing.T) {
	dir := composeDir(t)
	file := filepath.Join(dir, "compose.yaml")
	for _, cmd := range []string{"up", "deploy", "ps", "logs"} {
		if out, _, err := runCLI(t, cmd, "--help"); err != nil || !strings.Contains(out, "--profile NAME") {
			t.Errorf("%s --help lacks --profile: %v", cmd, err)
		}
	}
	var f stackFlags
	f.Files = []string{file}
	f.Profiles = []string{"dev"}
	st, err := f.Load(t.Context(), os.Stderr)
	if err != nil || st.Service("debug") == nil {
		t.Fatalf("--profile dev: %v", err)
	}
}

// TestUpServices: up SERVICE... asks the daemon for those services and
// what they depend on only, sending the whole stack (its routes and record
// cover every service); an unknown service is refused before the daemon.
func TestUpServices(t *testing.T) {
	d := newFakeDaemon(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	os.WriteFile(file, []byte("name: demo\nservices:\n  web:\n    image: busybox:1\n    depends_on: [db]\n  db:\n    image: busybox:1\n  other:\n    image: busybox:1\n"), 0o644)
	if _, stderr, err := runCLI(t, "up", "web", "-f", file, "--socket", d.sock); err != nil {
		t.Fatalf("up web: %v\n%s", err, stderr)
	}
	d.mu.Lock()
	spec := d.up
	d.mu.Unlock()
	if strings.Join(spec.Only, ",") != "db,web" || len(spec.Services) != 3 {
		t.Fatalf("up web sent only=%v and %d services", spec.Only, len(spec.Services))
	}
	if _, _, err := runCLI(t, "up", "-f", file, "--socket", d.sock); err != nil || d.up.Only != nil {
		t.Fatalf("up: %v only=%v", err, d.up.Only)
	}
	if _, _, err := runCLI(t, "up", "nosuch", "-f", file, "--socket", d.sock); err == nil || !strings.Contains(err.Error(), `no service "nosuch"`) {
		t.Fatalf("up nosuch: %v", err)
	}
}

// TestJSONOutputs: up, scale, logs and pull --json print berth's JSON
// (lower-camel keys) on stdout and nothing else there; layer progress
// goes to stderr, and only when asked for (--progress) with --json.
func TestJSONOutputs(t *testing.T) {
	d := newFakeDaemon(t)
	t.Chdir(composeDir(t))
	for _, args := range [][]string{{"up", "--json"}, {"scale", "web=2", "--json"}} {
		out, _, err := runCLI(t, append(args, "--socket", d.sock)...)
		var cs []map[string]any
		if err != nil || json.Unmarshal([]byte(out), &cs) != nil || len(cs) != 2 {
			t.Fatalf("%s --json: %v\n%s", args[0], err, out)
		}
		if cs[0]["name"] != "demo-web-1" || cs[1]["exitCode"] != 3.0 || cs[0]["Name"] != nil {
			t.Errorf("%s --json: %v", args[0], cs[0])
		}
	}

	out, _, err := runCLI(t, "logs", "--json", "--socket", d.sock)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 2 {
		t.Fatalf("logs --json: %v\n%s", err, out)
	}
	var l map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &l); err != nil {
		t.Fatal(err)
	}
	if l["service"] != "web" || l["replica"] != 1.0 || l["container"] != "demo-web-1" || l["stream"] != "stdout" || l["message"] != "early" || l["time"] != logT0.Format(time.RFC3339Nano) {
		t.Errorf("logs --json line: %v", l)
	}

	out, stderr, err := runCLI(t, "pull", "--json", "alpine:3.20", "--socket", d.sock)
	var ev map[string]any
	if err != nil || strings.Count(out, "\n") != 1 || json.Unmarshal([]byte(out), &ev) != nil || ev["digest"] != "sha256:image" || ev["status"] != "pulled" {
		t.Fatalf("pull --json: %v\n%q", err, out)
	}
	if stderr != "" {
		t.Errorf("pull --json wrote progress without --progress: %q", stderr)
	}
	_, stderr, err = runCLI(t, "pull", "--json", "--progress", "json", "alpine:3.20", "--socket", d.sock)
	if err != nil || json.Unmarshal([]byte(stderr), &ev) != nil || ev["digest"] != "sha256:layer" || ev["status"] != "done" || ev["bytes"] != 7.0 {
		t.Errorf("pull --progress json: stderr %q, %v", stderr, err)
	}
	out, stderr, err = runCLI(t, "pull", "alpine:3.20", "--socket", d.sock)
	if err != nil || out != "Pulling alpine:3.20\nPulled alpine:3.20\nDigest: sha256:image\n" || !strings.Contains(stderr, "pull sha256:layer  done 7B") {
		t.Errorf("pull (plain: not a terminal): %v\nstdout %q\nstderr %q", err, out, stderr)
	}
	if _, _, err := runCLI(t, "pull", "--progress", "fancy", "alpine:3.20", "--socket", d.sock); err == nil || !strings.Contains(err.Error(), "want auto, tty, plain, json or quiet") {
		t.Errorf("--progress fancy: %v", err)
	}
}
