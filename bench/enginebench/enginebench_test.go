//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	var vs []float64
	for i := 20; i >= 1; i-- {
		vs = append(vs, float64(i))
	}
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.5, 10}, {0.9, 18}, {1, 20}} {
		if got := quantile(vs, c.q); got != c.want {
			t.Errorf("quantile(1..20, %g) = %g, want %g", c.q, got, c.want)
		}
	}
	if got := quantile([]float64{3, 1, 2}, 0.5); got != 2 {
		t.Errorf("median of 3 = %g, want 2", got)
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("quantile of nothing is not 0")
	}
	if vs[0] != 20 {
		t.Error("quantile sorted its input in place")
	}
}

func fakeOutput(berthUp, berthScale, runc, docker float64, berthDaemon, dockerDaemon int64) *output {
	return &output{
		Latency: []latencyResult{
			{Name: "runc", Title: "runc", Median: runc},
			{Name: "runc-berthspec", Title: "runc-spec", Median: runc},
			{Name: "berth-scale", Title: "scale", Median: berthScale},
			{Name: "berth-scale-cli", Title: "scale-cli", Median: berthScale},
			{Name: "berth-up", Title: "up", Median: berthUp},
			{Name: "docker", Title: "docker", Median: docker},
		},
		Memory: []memoryResult{
			{Tool: "berth", Containers: 50, DaemonRSS: berthDaemon, DaemonPSS: berthDaemon, SupervisorRSS: 1000, SupervisorPSS: 100},
			{Tool: "docker", Containers: 50, DaemonRSS: dockerDaemon, DaemonPSS: dockerDaemon, SupervisorRSS: 1000, SupervisorPSS: 100},
		},
	}
}

func TestJudgeTargets(t *testing.T) {
	results := func(o *output) []string {
		var rs []string
		for _, tg := range judgeTargets(o) {
			rs = append(rs, tg.Result)
		}
		return rs
	}
	// Exactly 1.3× runc and exactly 4× faster than docker pass; equal
	// memory does not ("less memory").
	got := results(fakeOutput(13, 13, 10, 52, 10, 20))
	want := strings.Split(strings.Repeat("PASS,", 9)[:44], ",")
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("targets %v, want %v", got, want)
	}
	got = results(fakeOutput(14, 13.1, 10, 52, 20, 20))
	want = strings.Split(strings.Repeat("FAIL,", 9)[:44], ",")
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("targets %v, want %v", got, want)
	}
	// Both runc baselines are judged: berth's config.json and the defaults.
	var reqs []string
	for _, tg := range judgeTargets(fakeOutput(13, 13, 10, 52, 10, 20)) {
		reqs = append(reqs, tg.Name+": "+tg.Required)
	}
	for _, want := range []string{
		"start latency, scale: berth ≤ 1.3× raw runc with berth's config.json (median)",
		"start latency, scale: berth ≤ 1.3× raw runc (`runc spec` defaults) (median)",
		"start latency, scale-cli: docker run ÷ berth ≥ 4× (median)",
	} {
		if !strings.Contains(strings.Join(reqs, "\n"), want) {
			t.Errorf("no target %q among\n%s", want, strings.Join(reqs, "\n"))
		}
	}
	o := fakeOutput(13, 13, 10, 52, 10, 20)
	o.Latency, o.Memory = o.Latency[2:5], o.Memory[:1] // no runc, no docker
	for _, tg := range judgeTargets(o) {
		if tg.Result != "N/A" {
			t.Errorf("%s (%s) = %s without the other engine, want N/A", tg.Name, tg.Required, tg.Result)
		}
	}
}

func TestMarkdown(t *testing.T) {
	o := fakeOutput(30, 20, 10, 120, 10, 20)
	o.Meta.Versions = map[string]string{"berth": "dev"}
	o.Stack = &stackResult{Services: 10, BerthUp: []float64{900}, BerthUpMedian: 900, BerthMarkersMedian: 905}
	o.Targets = judgeTargets(o)
	md := markdown(o)
	for _, want := range []string{
		"| up | 30.0 | 0.0 | 0.0 | 0.0 | 0.0 | 3.00× | 3.00× | 4.00× |",
		"| `berth up` | 900 | 905 |",
		"| start latency, up | docker run ÷ berth ≥ 4× (median) | berth 30.0 ms, docker 120.0 ms | 4.00× | PASS |",
		"| daemon RSS, 50 containers | berth < dockerd + containerd | berth 0.0 MiB, docker 0.0 MiB | 0.50× | PASS |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestParseFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-tools", "podman"},
		{"-runs", "0"},
		{"-containers", "500"},
		{"-settle", "-1s"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted bad input", args)
		}
	}
	o, err := parseFlags([]string{"-tools", "docker, runc,docker", "-quick"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.tools, ",") != "berth,docker,runc" || o.runs != 5 || o.containers != 10 {
		t.Errorf("parsed %+v", o)
	}
}

// The watcher sees a file appear and stamps it, whoever creates it.
func TestMarkerWatcher(t *testing.T) {
	w, err := newMarkerWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	dir := filepath.Join(t.TempDir(), "m")
	if err := w.watch(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "old"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// An earlier run's marker is forgotten by drain once it was read.
	if _, err := w.wait(5*time.Second, filepath.Join(dir, "old")); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	go os.WriteFile(filepath.Join(dir, "ready"), nil, 0o644)
	at, err := w.wait(5*time.Second, filepath.Join(dir, "ready"))
	if err != nil {
		t.Fatal(err)
	}
	if at.Before(before) || time.Since(at) > 5*time.Second {
		t.Errorf("marker stamped at %v, created after %v", at, before)
	}
	if _, err := w.wait(50*time.Millisecond, filepath.Join(dir, "never")); err == nil || !strings.Contains(err.Error(), "did not run") {
		t.Errorf("waiting for a marker nobody creates: %v", err)
	}
}

func TestEditSpecKeepsOtherFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(path, []byte(`{"ociVersion":"1.0.2","process":{"terminal":true,"args":["sh"]},"root":{"path":"rootfs","readonly":true},"mounts":[{"destination":"/proc","type":"proc","source":"proc"}]}`), 0o644)
	err := editSpec(path, func(s map[string]any) error {
		s["process"].(map[string]any)["terminal"] = false
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s["ociVersion"] != "1.0.2" || s["process"].(map[string]any)["terminal"] != false || len(s["mounts"].([]any)) != 1 {
		t.Errorf("edited spec: %s", b)
	}
}

// TestQuick runs the whole benchmark once (-quick): berth's daemon, raw
// runc and a private dockerd, about 30 s. It needs root, runc, the CNI
// plugins, busybox-static and docker.io, so it runs only with
// BERTH_BENCH_ENGINE=1 (`make test` does not pay for it).
func TestQuick(t *testing.T) {
	if os.Getenv("BERTH_BENCH_ENGINE") != "1" {
		t.Skip("set BERTH_BENCH_ENGINE=1 to run the engine benchmark (-quick)")
	}
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir) // enginebench's own temporary directory goes here too
	mdPath, jsonPath := filepath.Join(dir, "r.md"), filepath.Join(dir, "r.json")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-quick", "-md", mdPath, "-json", jsonPath}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s\nstdout:\n%s", code, stderr.String(), stdout.String())
	}
	var out output
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Latency) != 7 {
		t.Errorf("%d latency methods, want 7", len(out.Latency))
	}
	for _, l := range out.Latency {
		if len(l.Runs) != 5 || l.Median <= 0 || l.P90 < l.Median {
			t.Errorf("%s: runs %v median %v p90 %v", l.Name, l.Runs, l.Median, l.P90)
		}
	}
	if s := out.Stack; s == nil || len(s.BerthUp) != 1 || s.BerthUpMedian <= 0 || s.DockerRunsMedian <= 0 {
		t.Errorf("stack result %+v", s)
	}
	for _, m := range out.Memory {
		if m.Supervisors != 10 || m.DaemonRSS <= 0 || m.SupervisorRSS <= 0 || m.TotalPSS() > m.TotalRSS() {
			t.Errorf("memory %+v", m)
		}
	}
	if len(out.Phases) != 4 {
		t.Errorf("%d berth phase breakdowns, want 4", len(out.Phases))
	}
	md, err := os.ReadFile(mdPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(md, stdout.Bytes()) {
		t.Error("-md file differs from the report printed on stdout")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("enginebench left files behind in its temporary directory: %v", entries)
	}
	if strings.Contains(string(mustRun(t, "ip", "-br", "link")), "ebench0") {
		t.Error("the docker bridge ebench0 was left behind")
	}
}

func mustRun(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}
