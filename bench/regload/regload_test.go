package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// TestRunAgainstRegistry drives every scenario against go-containerregistry's
// in-memory registry (a real OCI registry implementation) and checks that the
// JSON report is complete and error-free.
func TestRunAgainstRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(discardLogger())))
	defer srv.Close()

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"-url", srv.URL, "-json", "-concurrency", "4", "-duration", "200ms", "-warmup", "0",
		"-tags", "12", "-images", "3", "-pull-blobs", "2", "-server-pid", strconv.Itoa(os.Getpid()),
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s\nstdout:\n%s", code, stderr.String(), stdout.String())
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stdout.String())
	}
	if len(rep.Scenarios) != len(allScenarios) {
		t.Fatalf("got %d scenarios, want %d", len(rep.Scenarios), len(allScenarios))
	}
	for i, r := range rep.Scenarios {
		if r.Name != allScenarios[i] {
			t.Errorf("scenario %d is %q, want %q", i, r.Name, allScenarios[i])
		}
		if r.Ops == 0 || r.Errors != 0 || r.Flagged {
			t.Errorf("%s: ops=%d errors=%d flagged=%v samples=%q", r.Name, r.Ops, r.Errors, r.Flagged, r.ErrorSamples)
		}
		if r.LatencyMs.P50 <= 0 || r.LatencyMs.P99 < r.LatencyMs.P50 {
			t.Errorf("%s: implausible latency %+v", r.Name, r.LatencyMs)
		}
		wantMiB := strings.HasPrefix(r.Name, "pu")
		if (r.MiBPerSec > 0) != wantMiB {
			t.Errorf("%s: MiB/s = %v, expected it set: %v", r.Name, r.MiBPerSec, wantMiB)
		}
	}
	if rep.Setup.Tags != 12 || rep.ServerVmHWMBytes <= 0 {
		t.Errorf("setup %+v, VmHWM %d", rep.Setup, rep.ServerVmHWMBytes)
	}
}

// TestPushIsStreamed checks the push scenario's request sequence is the one
// docker and crane use: POST, one PATCH with a chunked body and no
// Content-Range, then PUT ?digest= with an empty body, and that the digest
// matches the streamed bytes.
func TestPushIsStreamed(t *testing.T) {
	var patched atomic.Value
	inner := registry.New(registry.Logger(discardLogger()))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			if r.ContentLength != -1 || r.Header.Get("Content-Range") != "" {
				http.Error(w, "want chunked PATCH without Content-Range", http.StatusBadRequest)
				return
			}
			body, _ := io.ReadAll(r.Body)
			patched.Store(body)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") {
			body := patched.Load().([]byte)
			sum := sha256.Sum256(body)
			if got := "sha256:" + hex.EncodeToString(sum[:]); r.URL.Query().Get("digest") != got {
				http.Error(w, "digest "+r.URL.Query().Get("digest")+" does not match body "+got, http.StatusBadRequest)
				return
			}
		}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()

	c, err := newClient(srv.URL, 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := newBlobGen(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 3 {
		b, err := gen.next()
		if err != nil {
			t.Fatal(err)
		}
		if seen[b.digest] {
			t.Fatalf("blob generator repeated digest %s", b.digest)
		}
		seen[b.digest] = true
		if err := c.pushBlob(context.Background(), "x/y", b.digest, b.reader()); err != nil {
			t.Fatal(err)
		}
		if n := len(patched.Load().([]byte)); n != 1<<20 {
			t.Fatalf("PATCH carried %d bytes, want %d", n, 1<<20)
		}
	}
}

// TestErrorsAreFlagged checks that a server answering non-2xx is reported as
// errors with a sample, and the exit status says so.
func TestErrorsAreFlagged(t *testing.T) {
	inner := registry.New(registry.Logger(discardLogger()))
	var tagLists atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Let the setup check read the tag list once, then fail every timed request.
		if r.URL.Path == "/v2/regload/images/tags/list" && tagLists.Add(1) > 1 {
			http.Error(w, `{"errors":[{"code":"UNKNOWN"}]}`, http.StatusServiceUnavailable)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"-url", srv.URL, "-json", "-concurrency", "2", "-duration", "100ms", "-warmup", "0",
		"-scenarios", "tags", "-tags", "3", "-images", "1",
	}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr.String())
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	r := rep.Scenarios[0]
	if !rep.Flagged || !r.Flagged || r.Errors == 0 || r.Ops != 0 {
		t.Fatalf("want a flagged scenario with only errors, got %+v", r)
	}
	if len(r.ErrorSamples) == 0 || !strings.Contains(r.ErrorSamples[0], "HTTP 503") {
		t.Fatalf("error samples %q lack the status", r.ErrorSamples)
	}
}

func TestParseFlagsRejectsBadInput(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-url", "ftp://x"},
		{"-url", "http://x", "-concurrency", "0"},
		{"-url", "http://x", "-scenarios", "push1m,nope"},
		{"-url", "http://x", "-duration", "-1s"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted bad input", args)
		}
	}
	o, err := parseFlags([]string{"-url", "http://x", "-quick", "-scenarios", "tags, tags ,pull1m"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.duration != time.Second || o.warmup != 0 || strings.Join(o.scenarios, ",") != "tags,pull1m" {
		t.Fatalf("quick/scenarios parsed wrongly: %+v", o)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond, 0: time.Millisecond} {
		if got := percentile(d, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing should be 0")
	}
}

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }

// TestSetupReusesFixtures checks that a second run with the same -seed finds
// its fixtures stored and uploads nothing, which lets regbench run one
// scenario per regload invocation without paying for setup each time.
func TestSetupReusesFixtures(t *testing.T) {
	inner := registry.New(registry.Logger(discardLogger()))
	var writes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost || r.Method == http.MethodPut {
			writes.Add(1)
		}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()

	args := []string{"-url", srv.URL, "-json", "-concurrency", "2", "-duration", "50ms", "-warmup", "0",
		"-scenarios", "pull1m,manifest-head", "-tags", "5", "-images", "2", "-pull-blobs", "2"}
	for i, wantWrites := range []bool{true, false} {
		writes.Store(0)
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("run %d: exit %d: %s", i, code, stderr.String())
		}
		if got := writes.Load() > 0; got != wantWrites {
			t.Errorf("run %d: %d POST/PUT requests, want writes: %v", i, writes.Load(), wantWrites)
		}
	}
}
