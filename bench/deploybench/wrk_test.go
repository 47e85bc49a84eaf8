//go:build linux

package main

import (
	"strings"
	"testing"
	"time"
)

const wrkSample = `Running 10s test @ http://127.0.0.1:8080/version
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.23ms  456.00us  12.34ms   78.90%
    Req/Sec    25.00k     1.23k   28.00k    70.00%
  Latency Distribution
     50%  834.00us
     75%    1.40ms
     90%    1.80ms
     99%    1.02s
  497512 requests in 10.00s, 72.35MB read
  Socket errors: connect 1, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 12
Requests/sec:  49750.12
Transfer/sec:      7.23MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkSample)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{ReqPerSec: 49750.12, Requests: 497512, P50ms: 0.834, P90ms: 1.8, P99ms: 1020, SocketErrors: 6, Non2xx: 12}
	if r != want {
		t.Errorf("parseWrk = %+v, want %+v", r, want)
	}
}

func TestParseWrkClean(t *testing.T) {
	// Without errors wrk prints neither the socket nor the non-2xx line.
	var clean []string
	for _, l := range strings.Split(wrkSample, "\n") {
		if !strings.Contains(l, "Socket errors") && !strings.Contains(l, "Non-2xx") {
			clean = append(clean, l)
		}
	}
	r, err := parseWrk(strings.Join(clean, "\n"))
	if err != nil || r.SocketErrors != 0 || r.Non2xx != 0 || r.ReqPerSec != 49750.12 {
		t.Errorf("parseWrk = %+v, %v", r, err)
	}
}

func TestParseWrkRefusesIncomplete(t *testing.T) {
	if _, err := parseWrk("Requests/sec: 10\n"); err == nil {
		t.Error("no error without the latency distribution")
	}
	if _, err := parseWrk("  Latency Distribution\n     99%    1.00xs\nRequests/sec: 10\n"); err == nil {
		t.Error("no error for an unknown unit")
	}
}

func TestWrkArgs(t *testing.T) {
	got := strings.Join(wrkArgs(2, 64, 10*time.Second, "http://x/"), " ")
	if got != "-t2 -c64 -d10s --latency http://x/" {
		t.Errorf("wrkArgs = %q", got)
	}
}
