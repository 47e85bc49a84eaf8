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

func fakeServer(name string, rss int64, results ...loadResult) serverResult {
	s := serverResult{Name: name, PeakRSSBytes: rss}
	s.Load.Scenarios = results
	return s
}

func res(name string, opsPerSec, mibPerSec float64, errors int64) loadResult {
	r := loadResult{Name: name, OpsPerSec: opsPerSec, MiBPerSec: mibPerSec, Errors: errors, Flagged: errors > 0}
	if mibPerSec > 0 {
		r.BytesPerOp = 1 << 20
	}
	return r
}

func TestJudgeTargets(t *testing.T) {
	dist := fakeServer("distribution", 200<<20,
		res("push1m", 100, 100, 0), res("pull1m", 400, 400, 0),
		res("manifest-head", 1000, 0, 0), res("manifest-get", 1000, 0, 0))
	berth := fakeServer("berth", 50<<20,
		res("push1m", 300, 300, 0), res("pull1m", 700, 700, 0),
		res("manifest-head", 4500, 0, 0), res("manifest-get", 3000, 0, 7))
	got := map[string]string{}
	for _, tg := range judgeTargets([]serverResult{dist, berth}) {
		got[tg.Name] = tg.Result
	}
	want := map[string]string{
		"manifest-head req/s": "PASS",             // 4.5× ≥ 4×
		"manifest-get req/s":  "INVALID (errors)", // berth had errors
		"push1m MiB/s":        "PASS",             // exactly 3×
		"pull1m MiB/s":        "FAIL",             // 1.75× < 2×
		"peak RSS":            "PASS",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("target %q = %q, want %q", k, got[k], v)
		}
	}

	for _, tg := range judgeTargets([]serverResult{dist}) {
		if tg.Result != "N/A" {
			t.Errorf("one server: target %q = %q, want N/A", tg.Name, tg.Result)
		}
	}
}

func TestBuildRowsAndMarkdown(t *testing.T) {
	dist := fakeServer("distribution", 100<<20, res("pull1m", 400, 400, 0), res("tags", 1000, 0, 0))
	berth := fakeServer("berth", 50<<20, res("pull1m", 800, 800, 0), res("tags", 3000, 0, 0))
	rows := buildRows([]serverResult{dist, berth}, []string{"pull1m", "tags"})
	find := func(scenario, metric string) *row {
		for i := range rows {
			if rows[i].Scenario == scenario && rows[i].Metric == metric {
				return &rows[i]
			}
		}
		return nil
	}
	if r := find("pull1m", "MiB/s"); r == nil || r.Ratio == nil || *r.Ratio != 2 || !r.Headline {
		t.Errorf("pull1m MiB/s row = %+v", r)
	}
	if find("pull1m", "req/s") != nil || find("tags", "MiB/s") != nil {
		t.Error("blob scenarios must show MiB/s only, metadata scenarios req/s only")
	}
	if find("tags", "errors") != nil {
		t.Error("errors row shown although no server had errors")
	}
	if r := find("(whole run)", "peak RSS MiB (VmHWM)"); r == nil || *r.Ratio != 0.5 || r.Better != "lower" {
		t.Errorf("peak RSS row = %+v", r)
	}
	md := markdown(runMeta{}, []serverResult{dist, berth}, rows, judgeTargets([]serverResult{dist, berth}))
	for _, want := range []string{"| berth ÷ distribution |", "| pull1m | MiB/s | higher | 400 | 800 | 2.00× |", "| peak RSS | berth < distribution | 0.50× | PASS |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestParseFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-servers", "zot"},
		{"-servers", "berth,berth"},
		{"-concurrency", "0"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted bad input", args)
		}
	}
	o, err := parseFlags([]string{"-servers", "berth, distribution", "-berth-args", "--a  --b"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.servers, ",") != "berth,distribution" || len(o.berthArgs) != 2 {
		t.Errorf("parsed %+v", o)
	}
}

// TestQuickAgainstDistribution is the smoke test of the whole driver: it
// builds regload, starts the real CNCF distribution, runs every scenario for
// a second and checks the reports. BERTH_BENCH_SERVERS=distribution,berth
// includes berth once its registry exists.
func TestQuickAgainstDistribution(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a registry and runs load for several seconds")
	}
	if _, err := os.Stat("/usr/bin/docker-registry"); err != nil {
		t.Skip("CNCF distribution not installed (Debian package docker-registry)")
	}
	servers := os.Getenv("BERTH_BENCH_SERVERS")
	if servers == "" {
		servers = "distribution"
	}
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir) // regbench's own temporary directory goes here too
	mdPath, jsonPath := filepath.Join(dir, "r.md"), filepath.Join(dir, "r.json")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-quick", "-servers", servers, "-md", mdPath, "-json", jsonPath}, &stdout, &stderr)
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
	if len(out.Servers) != len(strings.Split(servers, ",")) {
		t.Fatalf("got %d server results for %q", len(out.Servers), servers)
	}
	for _, s := range out.Servers {
		if s.PeakRSSBytes <= 0 || len(s.Load.Scenarios) != 6 {
			t.Errorf("%s: peak RSS %d, %d scenarios", s.Name, s.PeakRSSBytes, len(s.Load.Scenarios))
		}
		for _, r := range s.Load.Scenarios {
			if r.Ops == 0 || r.Errors != 0 {
				t.Errorf("%s %s: ops %d errors %d %q", s.Name, r.Name, r.Ops, r.Errors, r.ErrorSamples)
			}
		}
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
		t.Errorf("regbench left files behind in its temporary directory: %v", entries)
	}
}

func TestPickMedian(t *testing.T) {
	rep := func(mib float64, errors int64) *loadReport {
		return &loadReport{Scenarios: []loadResult{res("pull1m", mib, mib, errors)}}
	}
	cases := []struct {
		rounds []*loadReport
		want   float64
		errors bool
	}{
		{[]*loadReport{rep(300, 0)}, 300, false},
		{[]*loadReport{rep(300, 0), rep(100, 0), rep(200, 0)}, 200, false},
		{[]*loadReport{rep(300, 0), rep(100, 0)}, 100, false},              // lower middle
		{[]*loadReport{rep(900, 3), rep(100, 0), rep(200, 0)}, 100, false}, // one bad round: lowest clean one
		{[]*loadReport{rep(900, 3), rep(800, 1), rep(200, 0)}, 900, true},  // mostly bad: the median has errors
	}
	for i, c := range cases {
		got := pickMedian(c.rounds).Scenarios[0]
		if got.MiBPerSec != c.want || (got.Errors > 0) != c.errors {
			t.Errorf("case %d: picked %v MiB/s with %d errors, want %v (errors %v)", i, got.MiBPerSec, got.Errors, c.want, c.errors)
		}
	}
}

func TestMergeKeepsSetupFacts(t *testing.T) {
	var l loadReport
	a := &loadReport{Concurrency: 16, Scenarios: []loadResult{res("push1m", 1, 1, 0)}}
	a.Setup.Warnings = []string{"w1"}
	b := &loadReport{Concurrency: 16, Flagged: true, Scenarios: []loadResult{res("tags", 1, 0, 2)}}
	b.Setup.Tags = 200
	b.Setup.Warnings = []string{"w1", "w2"}
	l.merge(a)
	l.merge(b)
	if len(l.Scenarios) != 2 || l.Setup.Tags != 200 || !l.Flagged || strings.Join(l.Setup.Warnings, ",") != "w1,w2" {
		t.Errorf("merged %+v", l)
	}
}
