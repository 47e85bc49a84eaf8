package proxy

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metricValue finds one sample by name and labels in a registry.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			return sampleValue(f.GetType(), m), true
		}
	}
	return 0, false
}

func sampleValue(typ dto.MetricType, m *dto.Metric) float64 {
	switch typ {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	case dto.MetricType_HISTOGRAM:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := startBackend(t, "a")
	e := startEcho(t)
	p := newTestProxy(t, Options{Registerer: reg})
	p.holdTimeout = 10 * time.Millisecond
	web, db := freeAddr(t), freeAddr(t)
	mustApply(t, p, Config{Listeners: []Listener{
		{Addr: web, Mode: ModeHTTP, Routes: []Route{{Service: "s/web", Backends: []Backend{
			be("a", b.addr(), true), be("gone", freeAddr(t), true), be("nr", b.addr(), false)}}}},
		{Addr: db, Mode: ModeTCP, Routes: []Route{{Service: "s/db", Backends: []Backend{be("e", e.addr(), true)}}}},
	}})
	c := newClient()
	for i := 0; i < 4; i++ {
		mustGet(t, c, "http://"+web+"/")
	}
	dialEcho(t, db, "x").Close()

	want := []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{"berth_proxy_requests_total", map[string]string{"service": "s/web", "code": "2xx"}, 4},
		{"berth_proxy_request_duration_seconds", map[string]string{"service": "s/web"}, 4},
		{"berth_proxy_backends", map[string]string{"service": "s/web", "state": "ready"}, 2},
		{"berth_proxy_backends", map[string]string{"service": "s/web", "state": "not_ready"}, 1},
		{"berth_proxy_connections_total", map[string]string{"service": "s/db"}, 1},
	}
	for _, w := range want {
		got, ok := metricValue(t, reg, w.name, w.labels)
		if !ok || got != w.value {
			t.Errorf("%s%v = %v (found %v), want %v", w.name, w.labels, got, ok, w.value)
		}
	}
	// The dead backend cost at least one retry, never a failed request.
	if got, _ := metricValue(t, reg, "berth_proxy_retries_total", map[string]string{"service": "s/web"}); got < 1 {
		t.Errorf("retries %v", got)
	}
	if got, _ := metricValue(t, reg, "berth_proxy_inflight", map[string]string{"service": "s/web"}); got != 0 {
		t.Errorf("inflight %v after all requests ended", got)
	}
	waitFor(t, "tcp inflight back to 0", 5*time.Second, func() bool {
		v, _ := metricValue(t, reg, "berth_proxy_inflight", map[string]string{"service": "s/db"})
		return v == 0
	})
	// A service that leaves the config leaves the backends gauge.
	mustApply(t, p, Config{Listeners: []Listener{{Addr: web, Mode: ModeHTTP, Routes: []Route{{Service: "s/web", Backends: []Backend{be("a", b.addr(), true)}}}}}})
	if _, ok := metricValue(t, reg, "berth_proxy_backends", map[string]string{"service": "s/db"}); ok {
		t.Error("s/db still has a backends gauge")
	}
	// A second proxy on the same registry shares the collectors.
	newTestProxy(t, Options{Registerer: reg})
}
