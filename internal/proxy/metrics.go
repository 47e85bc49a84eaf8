package proxy

import (
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the proxy's Prometheus collectors, labelled by service
// ("<stack>/<service>"). The per-service children are bound once per Apply
// so a request touches only atomics.
type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inflight    *prometheus.GaugeVec
	retries     *prometheus.CounterVec
	backends    *prometheus.GaugeVec
	connections *prometheus.CounterVec
}

// serviceMetrics are one service's bound children.
type serviceMetrics struct {
	codes       [6]prometheus.Counter // 1xx..5xx; [0] for anything else
	duration    prometheus.Observer
	inflight    prometheus.Gauge
	retries     prometheus.Counter
	connections prometheus.Counter
}

var codeClasses = [6]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

func newMetrics(reg prometheus.Registerer, log *slog.Logger) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_proxy_requests_total", Help: "HTTP requests answered by the proxy, by status class.",
		}, []string{"service", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "berth_proxy_request_duration_seconds", Help: "Time from request to the end of the response body.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"service"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "berth_proxy_inflight", Help: "HTTP requests and TCP connections in flight.",
		}, []string{"service"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_proxy_retries_total", Help: "Requests and connections retried on another backend.",
		}, []string{"service"}),
		backends: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "berth_proxy_backends", Help: "Configured backends by readiness.",
		}, []string{"service", "state"}),
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_proxy_connections_total", Help: "TCP connections accepted (mode tcp).",
		}, []string{"service"}),
	}
	m.requests = register(reg, m.requests, log)
	m.duration = register(reg, m.duration, log)
	m.inflight = register(reg, m.inflight, log)
	m.retries = register(reg, m.retries, log)
	m.backends = register(reg, m.backends, log)
	m.connections = register(reg, m.connections, log)
	return m
}

// register reuses an identical collector already registered (a second
// Proxy on the same registry, as in tests) instead of failing.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, log *slog.Logger) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		log.Warn("proxy metrics not registered", "err", err)
	}
	return c
}

func (m *metrics) service(name string) *serviceMetrics {
	if m == nil {
		return nil
	}
	s := &serviceMetrics{
		duration:    m.duration.WithLabelValues(name),
		inflight:    m.inflight.WithLabelValues(name),
		retries:     m.retries.WithLabelValues(name),
		connections: m.connections.WithLabelValues(name),
	}
	for i, c := range codeClasses {
		s.codes[i] = m.requests.WithLabelValues(name, c)
	}
	return s
}

func (s *serviceMetrics) code(status int) prometheus.Counter {
	if c := status / 100; c >= 1 && c <= 5 {
		return s.codes[c]
	}
	return s.codes[0]
}

// setBackends publishes ready/not-ready counts per service and forgets
// services that are gone.
func (m *metrics) setBackends(counts map[string][2]int, previous map[string][2]int) {
	if m == nil {
		return
	}
	for svc := range previous {
		if _, ok := counts[svc]; !ok {
			m.backends.DeleteLabelValues(svc, "ready")
			m.backends.DeleteLabelValues(svc, "not_ready")
		}
	}
	for svc, c := range counts {
		m.backends.WithLabelValues(svc, "ready").Set(float64(c[0]))
		m.backends.WithLabelValues(svc, "not_ready").Set(float64(c[1]))
	}
}
