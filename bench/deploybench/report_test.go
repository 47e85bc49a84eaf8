//go:build linux

package main

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/test/loadgen"
)

func fakeThroughput(proxied bool, berthRPS, berthP99, nginxRPS, nginxP99 float64) *throughputResult {
	return &throughputResult{Proxied: proxied, Rounds: 1, Paths: []pathResult{
		{Name: "direct", Title: "direct", Median: wrkResult{ReqPerSec: 2 * nginxRPS, P99ms: 1}},
		{Name: "berth", Title: "berth", Median: wrkResult{ReqPerSec: berthRPS, P99ms: berthP99}},
		{Name: "nginx", Title: "nginx", Median: wrkResult{ReqPerSec: nginxRPS, P99ms: nginxP99}},
		{Name: "berth-tls", Title: "berth tls", Median: wrkResult{ReqPerSec: berthRPS / 2, P99ms: berthP99}},
		{Name: "nginx-tls", Title: "nginx tls", Median: wrkResult{ReqPerSec: nginxRPS / 2, P99ms: nginxP99}},
	}}
}

func fakeRelease(tool string, failed int64, after string) releaseResult {
	return releaseResult{Tool: tool, Round: 1, From: "1.0.0", To: "2.0.0", Counts: loadgen.Snapshot{Requests: 100 + failed, OK: 100, Non2xx: failed}, After: map[string]int64{after: 10}}
}

func results(ts []target) string {
	var rs []string
	for _, t := range ts {
		rs = append(rs, t.Result)
	}
	return strings.Join(rs, ",")
}

func TestJudgeTargets(t *testing.T) {
	// Exactly nginx's req/s and p99 pass, plain and TLS.
	out := &output{Throughput: fakeThroughput(true, 1000, 2, 1000, 2), Releases: []releaseResult{fakeRelease("berth", 0, "2.0.0"), fakeRelease("compose", 84, "2.0.0")}}
	ts := judgeTargets(out)
	if got := results(ts); got != "PASS,PASS,PASS,PASS,PASS" {
		t.Errorf("targets %s, want all PASS", got)
	}
	if !strings.Contains(ts[4].Measured, "compose 84") {
		t.Errorf("release target %q does not show compose's count", ts[4].Measured)
	}
	out = &output{Throughput: fakeThroughput(true, 999, 2.1, 1000, 2), Releases: []releaseResult{fakeRelease("berth", 1, "2.0.0")}}
	if got := results(judgeTargets(out)); got != "FAIL,FAIL,FAIL,FAIL,FAIL" {
		t.Errorf("targets %s, want all FAIL", got)
	}
	// No failed request, but the old version still answers: not a release.
	out.Releases = []releaseResult{fakeRelease("berth", 0, "1.0.0")}
	if got := judgeTargets(out)[4].Result; got != "FAIL" {
		t.Errorf("incomplete release judged %s, want FAIL", got)
	}
	// wrk errors invalidate the proxy targets.
	out.Throughput = fakeThroughput(true, 1000, 1, 1000, 1)
	out.Throughput.Paths[1].Median.SocketErrors = 3
	if got := judgeTargets(out)[0].Result; got != "INVALID (errors)" {
		t.Errorf("with errors: %s", got)
	}
}

func TestJudgeTargetsWithoutBerthFeatures(t *testing.T) {
	out := &output{Throughput: fakeThroughput(false, 1000, 1, 1000, 1), BerthRelease: "berth deploy unavailable: x",
		Releases: []releaseResult{fakeRelease("compose", 5, "2.0.0")}}
	ts := judgeTargets(out)
	if got := results(ts); got != "N/A,N/A,N/A,N/A,N/A" {
		t.Errorf("targets %s, want N/A for all", got)
	}
	md := markdown(&output{Throughput: out.Throughput, BerthRelease: out.BerthRelease, Releases: out.Releases, Targets: ts})
	for _, want := range []string{"berth deploy unavailable: x", "| compose | 1: v1.0.0 → v2.0.0 |", "no berth proxy in this build", "v2.0.0 (10)"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if ts := judgeTargets(&output{}); results(ts) != "N/A,N/A,N/A,N/A,N/A" {
		t.Errorf("nothing measured: %s", results(ts))
	}
}

func TestMedianWrk(t *testing.T) {
	m := medianWrk([]wrkResult{{ReqPerSec: 3, P99ms: 9}, {ReqPerSec: 1, P99ms: 1, SocketErrors: 2}, {ReqPerSec: 2, P99ms: 5}})
	if m.ReqPerSec != 2 || m.P99ms != 5 || m.SocketErrors != 2 {
		t.Errorf("medianWrk = %+v", m)
	}
}

func TestParseFlags(t *testing.T) {
	var sink strings.Builder
	o, err := parseFlags([]string{"-quick", "-parts", "release"}, &sink)
	if err != nil || o.rounds != 1 || o.releases != 1 || len(o.parts) != 1 || o.parts[0] != "release" {
		t.Errorf("parseFlags -quick -parts release = %+v, %v", o, err)
	}
	for _, bad := range [][]string{{"-parts", "proxy,x"}, {"-duration", "1500ms"}, {"-rounds", "0"}, {"-connections", "1"}, {"-load-rate", "-1"}, {"-backend", "caddy"}, {"extra"}} {
		if _, err := parseFlags(bad, &sink); err == nil {
			t.Errorf("parseFlags %q: no error", bad)
		}
	}
}
