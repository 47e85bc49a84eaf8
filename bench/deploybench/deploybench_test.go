//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuick runs the whole benchmark in its smoke configuration: root, the
// local apt repository, wrk, nginx, docker.io and docker-compose, about a
// minute. Opt in with BERTH_BENCH_DEPLOY=1.
func TestQuick(t *testing.T) {
	if os.Getenv("BERTH_BENCH_DEPLOY") == "" {
		t.Skip("set BERTH_BENCH_DEPLOY=1 to run the deploy benchmark's smoke run")
	}
	jsonPath := filepath.Join(t.TempDir(), "out.json")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-quick", "-json", jsonPath}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var out output
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"direct", "berth", "nginx"} {
		p := out.Throughput.path(name)
		if p == nil || p.Median.ReqPerSec <= 0 || p.Median.P99ms <= 0 {
			t.Errorf("path %s: %+v", name, p)
		}
	}
	compose := releasesOf(&out, "compose")
	if len(compose) != 1 || !compose[0].complete() || compose[0].Seconds <= 0 {
		t.Errorf("compose release: %+v", compose)
	}
	if len(releasesOf(&out, "berth")) == 0 && !strings.Contains(out.BerthRelease, "unavailable") {
		t.Errorf("no berth release and no reason: %+v", out)
	}
	if !strings.Contains(stdout.String(), "| target |") {
		t.Errorf("no targets table:\n%s", stdout.String())
	}
}
