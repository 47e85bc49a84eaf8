//go:build linux

package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// A command name with a space and a parenthesis; utime 250, stime 150.
	line := "4242 (berth (x) d) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 150 0 0 20 0 12 0 100 2000000 3000 18446744073709551615\n"
	got, err := parseStatCPU(line)
	if err != nil || got != 4.0 {
		t.Errorf("parseStatCPU = %v, %v; want 4 s", got, err)
	}
	for _, bad := range []string{"", "4242 berth S 1", "4242 (berth) S 1 2 3", "4242 (b) S 1 2 3 4 5 6 7 8 9 10 x 0"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q): no error", bad)
		}
	}
	if cpu, err := processCPU(os.Getpid()); err != nil || cpu < 0 {
		t.Errorf("processCPU(self) = %v, %v", cpu, err)
	}
}

func TestQuantile(t *testing.T) {
	var vs []float64
	for i := 20; i >= 1; i-- {
		vs = append(vs, float64(i))
	}
	if q := quantile(vs, 0.95); q != 19 {
		t.Errorf("p95 of 1..20 = %v, want 19", q)
	}
	if q := quantile(vs, 1); q != 20 {
		t.Errorf("max = %v", q)
	}
	if q := quantile(nil, 0.5); q != 0 {
		t.Errorf("of nothing: %v", q)
	}
}

// The targets judge p95 first bytes and every streaming case's added CPU.
func TestTargetsAndMarkdown(t *testing.T) {
	o := &output{
		Meta:  meta{Services: 50, Requests: 2, WindowSecs: 60},
		Pages: []pageResult{{page: page{Name: "stacks", Path: "/"}, MS: []float64{3, 60}, Median: 31.5, P95: 60}, {page: page{Name: "image", Path: "/images/x"}, MS: []float64{2, 4}, P95: 4}},
		CPU:   []cpuCase{{Name: "idle", Percent: 0.2}, {Name: "stacks, 1", Browsers: 1, Streams: 1, Percent: 0.5, Added: 0.3, Judged: true}, {Name: "service, 5", Browsers: 5, Streams: 15, Added: 1.5, Judged: true}, {Name: "5 services", Browsers: 5, Streams: 15, Added: 3}},
	}
	o.Targets = targets(o)
	var got []string
	for _, tg := range o.Targets {
		got = append(got, tg.Result)
	}
	if strings.Join(got, ",") != "FAIL,PASS,PASS,FAIL" {
		t.Errorf("results %v, want FAIL,PASS,PASS,FAIL:\n%+v", got, o.Targets)
	}
	md := markdown(o)
	for _, want := range []string{"## Console: 50 services", "| stacks | `/` |", "| service, 5 | 5 | 15 |", "+1.50%", "| FAIL |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestParseFlags(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parseFlags([]string{"-quick"}, &stderr)
	if err != nil || o.services != 10 || o.window != 5*time.Second {
		t.Errorf("-quick: %+v, %v", o, err)
	}
	for _, bad := range [][]string{{"-services", "0"}, {"-services", "300"}, {"-window", "10ms"}, {"extra"}} {
		if _, err := parseFlags(bad, &stderr); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestQuick is a -quick run against a real daemon (root, runc, CNI
// plugins, busybox-static); opt in with BERTH_BENCH_CONSOLE=1 and run it
// under the e2e lock.
func TestQuick(t *testing.T) {
	if os.Getenv("BERTH_BENCH_CONSOLE") == "" {
		t.Skip("set BERTH_BENCH_CONSOLE=1 (needs root, runc, CNI plugins, busybox-static)")
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-quick", "-window", "2s"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"Time to first byte", "service page, 5 browsers", "Targets"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, stdout.String())
		}
	}
}
