package proxy

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	certExpiryDesc = prometheus.NewDesc("berth_proxy_tls_certificate_expiry_days",
		"Days until the host's automatic (ACME) certificate expires; negative once expired.", []string{"host"}, nil)
	certFailuresDesc = prometheus.NewDesc("berth_proxy_tls_certificate_failures",
		"Failed attempts in a row to get or renew the host's automatic certificate (0 after a success).", []string{"host"}, nil)
)

// certCollector reports the managed certificates at scrape time.
type certCollector struct{ m *certManager }

func (c certCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- certExpiryDesc
	ch <- certFailuresDesc
}

func (c certCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.m.status() {
		if !s.NotAfter.IsZero() {
			ch <- prometheus.MustNewConstMetric(certExpiryDesc, prometheus.GaugeValue, time.Until(s.NotAfter).Hours()/24, s.Host)
		}
		ch <- prometheus.MustNewConstMetric(certFailuresDesc, prometheus.GaugeValue, float64(s.Failures), s.Host)
	}
}
