package registry

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the registry's Prometheus metrics, on a registry of their own
// so two instances in one process (tests) never collide.
type metrics struct {
	reg             *prometheus.Registry
	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	bytesIn         prometheus.Counter
	bytesOut        prometheus.Counter
	uploadsStarted  prometheus.Counter
	uploadsFinished prometheus.Counter
	dedupedBlobs    prometheus.Counter
	mounts          prometheus.Counter
	manifestsPushed prometheus.Counter
	gcRuns          prometheus.Counter
	gcBlobs         prometheus.Counter
	gcBytes         prometheus.Counter
}

func newMetrics(_ *Registry) *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "berth_registry", Name: name, Help: help})
		reg.MustRegister(c)
		return c
	}
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "berth_registry", Name: "http_requests_total",
			Help: "HTTP requests by endpoint, method and status code."}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "berth_registry", Name: "http_request_duration_seconds",
			Help: "HTTP request latency by endpoint and method.", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)}, []string{"route", "method"}),
		bytesIn:         f("received_bytes_total", "Blob bytes received in uploads."),
		bytesOut:        f("sent_bytes_total", "Blob bytes sent."),
		uploadsStarted:  f("uploads_started_total", "Blob upload sessions started."),
		uploadsFinished: f("uploads_finished_total", "Blob uploads committed."),
		dedupedBlobs:    f("uploads_deduplicated_total", "Finished uploads whose blob was already stored."),
		mounts:          f("mounts_total", "Cross-repository blob mounts."),
		manifestsPushed: f("manifests_pushed_total", "Manifests stored."),
		gcRuns:          f("gc_runs_total", "Garbage collections completed."),
		gcBlobs:         f("gc_deleted_blobs_total", "Blobs deleted by garbage collection."),
		gcBytes:         f("gc_deleted_bytes_total", "Bytes freed by garbage collection."),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// requestInfo is filled in while a request is served and read by the
// access log and the metrics when it ends.
type requestInfo struct {
	route routeKind
	user  string
}

type requestInfoKey struct{}

func setRouteLabel(req *http.Request, k routeKind) {
	if ri, ok := req.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		ri.route = k
	}
}

// setInvalidName marks a request whose repository name failed validation:
// such names are unbounded, so they are never labels, only "invalid".
func setInvalidName(req *http.Request) { setRouteLabel(req, routeInvalidName) }

func setUser(req *http.Request, user string) {
	if ri, ok := req.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		ri.user = user
	}
}

// statusWriter records the status and size of a response. It passes
// ReadFrom through so blob bodies still go out with sendfile(2).
type statusWriter struct {
	http.ResponseWriter
	status  int
	written int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, r)
	w.written += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withAccessLog logs one line per request (never credentials) and updates
// the request metrics.
func (r *Registry) withAccessLog(next http.Handler) http.Handler {
	access := r.cfg.Log.Access
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		ri := &requestInfo{}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, req.WithContext(context.WithValue(req.Context(), requestInfoKey{}, ri)))
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		elapsed := time.Since(start)
		// Every label value comes from a fixed set: a client that sends
		// made-up methods, paths or names must not create new series.
		route, method := ri.route.String(), methodLabel(req.Method)
		r.metrics.requests.WithLabelValues(route, method, statusLabel(sw.status)).Inc()
		r.metrics.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
		if access {
			r.log.LogAttrs(req.Context(), slog.LevelInfo, "request",
				slog.String("method", clip(req.Method, maxLogMethod)), slog.String("path", clip(req.URL.Path, maxLogPath)),
				slog.Int("status", sw.status), slog.Int64("bytes", sw.written),
				slog.Duration("duration", elapsed), slog.String("remote", req.RemoteAddr),
				slog.String("user", clip(ri.user, maxLogUser)), slog.String("agent", clip(req.UserAgent(), maxLogAgent)))
		}
	})
}

// methodLabel maps a request method to the methods HTTP and the registry
// know; anything else (a client may send any token, up to the header size
// limit) is "other".
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// statusLabel is the response status as a label. Handlers choose it, but
// keep it to the three-digit range regardless.
func statusLabel(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code)
}

// Longest values of client-controlled access-log fields; longer ones are
// cut, so a request cannot make one log line much bigger than this.
const (
	maxLogMethod = 32
	maxLogPath   = 1024
	maxLogUser   = 256
	maxLogAgent  = 512
)

// clip shortens s to at most n bytes (on a rune boundary), saying how long
// it was.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "...(" + strconv.Itoa(len(s)) + " bytes)"
}
