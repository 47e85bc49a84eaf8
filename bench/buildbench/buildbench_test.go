package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fakeOutput(noop, berthPush, dockerPush float64, berthSize, dockerSize int64) *output {
	o := &output{Tools: []string{"berth", "docker"}, Sizes: map[string]imgSize{
		"berth":  {Compressed: berthSize, Uncompressed: 100},
		"docker": {Compressed: dockerSize, Uncompressed: 100},
	}}
	o.Steps = []stepResult{
		{Name: "noop", Title: "no-op rebuild", Median: map[string]float64{"berth": noop, "docker": 0.4}},
		{Name: "static+push", Title: "static", Median: map[string]float64{"berth": berthPush, "docker": dockerPush}},
		{Name: "main.go+push", Title: "main", Median: map[string]float64{"berth": berthPush}}, // docker missing
	}
	return o
}

func TestJudgeTargets(t *testing.T) {
	o := fakeOutput(0.2, 0.25, 0.75, 10, 11)
	got := map[string]string{}
	for _, tg := range judgeTargets(o) {
		got[tg.Name] = tg.Result
	}
	want := map[string]string{
		"no-op rebuild":            "PASS", // exactly the limit
		"static+push":              "PASS", // exactly 3×
		"main.go+push":             "N/A",  // no docker number
		"image size, compressed":   "PASS",
		"image size, uncompressed": "PASS", // equal
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("target %q = %q, want %q", k, got[k], v)
		}
	}
	o = fakeOutput(0.21, 0.2, 0.5, 12, 11)
	for _, tg := range judgeTargets(o) {
		if tg.Name != "main.go+push" && tg.Name != "image size, uncompressed" && tg.Result != "FAIL" {
			t.Errorf("target %q = %q, want FAIL", tg.Name, tg.Result)
		}
	}
}

func TestSummariseMedianAndMarkdown(t *testing.T) {
	s := stepResult{Name: "noop", Title: "no-op rebuild", Runs: map[string][]runResult{
		"berth":  {{Seconds: 0.3}, {Seconds: 0.1, Commands: []cmdTiming{{"berth build", 0.1}}}, {Seconds: 0.2, Commands: []cmdTiming{{"berth build", 0.2}}}},
		"docker": {{Seconds: 0.9}, {Seconds: 0.5, Commands: []cmdTiming{{"go build", 0.3}, {"docker build", 0.2}}}},
	}}
	s.summarise()
	if s.Median["berth"] != 0.2 || s.Median["docker"] != 0.5 {
		t.Errorf("medians %v, want berth 0.2 (middle of 3), docker 0.5 (lower middle of 2)", s.Median)
	}
	o := &output{Tools: []string{"berth", "docker"}, Steps: []stepResult{s}}
	o.Targets = judgeTargets(o)
	md := markdown(o)
	for _, want := range []string{
		"| no-op rebuild | 0.200 | 0.500 | 2.50× |",
		"| noop | docker | go build 0.300 + docker build 0.200 |",
		"| no-op rebuild | berth ≤ 0.2 s | 0.200 s | — | PASS |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestParseFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-tools", "bazel"},
		{"-rounds", "0"},
		{"-docker-builder", "podman"},
		{"-docker-storage", "zfs"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted bad input", args)
		}
	}
	o, err := parseFlags([]string{"-tools", "ko, docker,ko", "-quick"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.tools, ",") != "berth,ko,docker" || o.rounds != 1 {
		t.Errorf("parsed tools %q rounds %d", o.tools, o.rounds)
	}
}

func TestEditsChangeEveryWorkspace(t *testing.T) {
	dir := t.TempDir()
	var tools []*tool
	for _, n := range []string{"a", "b"} {
		ws := filepath.Join(dir, n)
		static := filepath.Join("static", "index.html")
		if n == "b" {
			static = filepath.Join("kodata", "index.html")
		}
		if err := os.MkdirAll(filepath.Join(ws, filepath.Dir(static)), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(ws, static), []byte("<p>hi</p>\n"), 0o644)
		os.WriteFile(filepath.Join(ws, "main.go"), []byte("log.Printf(\"goapp %s listening on %s\", v, a)\n"), 0o644)
		tools = append(tools, &tool{name: n, ws: ws, staticPath: static})
	}
	os.MkdirAll(filepath.Join(dir, "a", "static"), 0o755)
	e, err := newEdits(tools[0].ws, tools)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.static(); err != nil {
		t.Fatal(err)
	}
	if err := e.main(); err != nil {
		t.Fatal(err)
	}
	if err := e.main(); err != nil {
		t.Fatal(err)
	}
	for _, tl := range tools {
		b, _ := os.ReadFile(filepath.Join(tl.ws, tl.staticPath))
		if !strings.Contains(string(b), "buildbench edit 1") {
			t.Errorf("%s: static not edited: %q", tl.name, b)
		}
		m, _ := os.ReadFile(filepath.Join(tl.ws, "main.go"))
		if !strings.Contains(string(m), `listening on %s (buildbench edit 2)"`) || strings.Contains(string(m), "edit 1") {
			t.Errorf("%s: main.go = %q", tl.name, m)
		}
	}
	os.WriteFile(filepath.Join(tools[0].ws, "main.go"), []byte("package main\n"), 0o644)
	if _, err := newEdits(tools[0].ws, tools); err == nil {
		t.Error("newEdits accepted a main.go without the marker")
	}
}

// TestQuick runs the whole benchmark once (-quick): berth, a private
// dockerd and ko, about 30 s plus a minute to install ko the first time.
// It needs root, docker.io and the apt repository, so it runs only with
// BERTH_BENCH_BUILD=1 (`make test` does not pay for it).
func TestQuick(t *testing.T) {
	if os.Getenv("BERTH_BENCH_BUILD") != "1" {
		t.Skip("set BERTH_BENCH_BUILD=1 to run the build benchmark (-quick)")
	}
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir) // buildbench's own temporary directory goes here too
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
	for _, s := range out.Steps {
		for _, tool := range out.Tools {
			if s.Name == "cold-empty" && tool != "berth" {
				continue
			}
			if v, ok := s.Median[tool]; !ok || v <= 0 {
				t.Errorf("step %s, %s: median %v (present %v)", s.Name, tool, v, ok)
			}
		}
	}
	for _, tool := range append([]string{"base"}, out.Tools...) {
		s := out.Sizes[tool]
		if s.Compressed <= 0 || s.Uncompressed <= s.Compressed/2 || s.Layers == 0 {
			t.Errorf("%s image size %+v", tool, s)
		}
	}
	// Same files in every image: the uncompressed sizes of berth's and
	// docker's images differ by at most directory entries.
	if d, b := out.Sizes["docker"], out.Sizes["berth"]; d.Uncompressed == 0 || b.OwnLayers != 2 {
		t.Errorf("berth %+v docker %+v", b, d)
	}
	md, err := os.ReadFile(mdPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(md, stdout.Bytes()) {
		t.Error("-md file differs from the report printed on stdout")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("buildbench left files behind in its temporary directory: %v", entries)
	}
}
