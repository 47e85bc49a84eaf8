package autotls

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	expiryDesc = prometheus.NewDesc("berth_proxy_tls_certificate_expiry_days",
		"Days until the host's automatic (ACME) certificate expires; negative once expired.", []string{"host"}, nil)
	failuresDesc = prometheus.NewDesc("berth_proxy_tls_certificate_failures",
		"Failed attempts in a row to get or renew the host's automatic certificate (0 after a success).", []string{"host"}, nil)
)

// collector reports the managed certificates at scrape time.
type collector struct{ m *Manager }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- expiryDesc
	ch <- failuresDesc
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.m.Status() {
		if !s.NotAfter.IsZero() {
			ch <- prometheus.MustNewConstMetric(expiryDesc, prometheus.GaugeValue, time.Until(s.NotAfter).Hours()/24, s.Host)
		}
		ch <- prometheus.MustNewConstMetric(failuresDesc, prometheus.GaugeValue, float64(s.Failures), s.Host)
	}
}
