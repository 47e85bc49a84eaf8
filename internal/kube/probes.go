package kube

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/internal/model"
)

// Docker's health check defaults, which berth's engine uses.
const (
	defaultInterval      = 30 * time.Second
	defaultTimeout       = 30 * time.Second
	defaultRetries       = 3
	defaultStartInterval = 5 * time.Second
)

// probes maps the health check onto a readinessProbe (traffic only to
// healthy pods) AND a livenessProbe (an unhealthy container is restarted,
// what Swarm does and Docker does not), plus a startupProbe for
// start_period: failures during it do not count, checks run every
// start_interval, and the other probes wait for it as Docker's do.
func (t *translator) probes(svc model.ServiceSpec, c *corev1.Container) {
	h := svc.Health
	if h == nil {
		t.warn(svc.Name, "healthcheck", "none set: an image HEALTHCHECK is not run by Kubernetes, so pods are ready once started (set healthcheck: for readiness and liveness probes)")
		return
	}
	if h.Disabled() {
		return
	}
	handler, err := t.handler(*h)
	if err != nil {
		t.warn(svc.Name, "healthcheck.test", "%v: no probes", err)
		return
	}
	interval, timeout, retries := cmpOr(h.Interval, defaultInterval), cmpOr(h.Timeout, defaultTimeout), h.Retries
	if retries <= 0 {
		retries = defaultRetries
	}
	p := corev1.Probe{ProbeHandler: handler, PeriodSeconds: ceilSeconds(interval), TimeoutSeconds: ceilSeconds(timeout),
		FailureThreshold: int32(min(retries, math.MaxInt32)), SuccessThreshold: 1}
	ready, live := p, p
	ready.ProbeHandler, live.ProbeHandler = deepHandler(handler), deepHandler(handler)
	c.ReadinessProbe, c.LivenessProbe = &ready, &live
	if h.StartPeriod > 0 {
		si := cmpOr(h.StartInterval, defaultStartInterval)
		n := int64(math.Ceil(float64(h.StartPeriod)/float64(si))) + int64(retries)
		start := p
		start.ProbeHandler = deepHandler(handler)
		start.PeriodSeconds, start.FailureThreshold = ceilSeconds(si), int32(min(n, math.MaxInt32))
		c.StartupProbe = &start
	} else if h.StartInterval > 0 {
		t.warn(svc.Name, "healthcheck.start_interval", "%s without start_period: has no effect (as in Docker)", h.StartInterval)
	}
}

// handler: CMD and CMD-SHELL run in the container (exec), HTTP and TCP
// are the kubelet's httpGet and tcpSocket.
func (t *translator) handler(h model.HealthCheck) (corev1.ProbeHandler, error) {
	if err := h.Validate(); err != nil {
		return corev1.ProbeHandler{}, err
	}
	switch h.Test[0] {
	case "CMD":
		return corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: h.Test[1:]}}, nil
	case "CMD-SHELL":
		return corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c", h.Test[1]}}}, nil
	case "HTTP":
		u, err := url.Parse(h.Test[1])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return corev1.ProbeHandler{}, fmt.Errorf("HTTP %q: want an http(s) URL", h.Test[1])
		}
		port, err := urlPort(u)
		if err != nil {
			return corev1.ProbeHandler{}, err
		}
		g := &corev1.HTTPGetAction{Path: u.RequestURI(), Port: intstr.FromInt32(port), Scheme: corev1.URIScheme(map[string]string{"http": "HTTP", "https": "HTTPS"}[u.Scheme])}
		if u.Hostname() != "" {
			g.HTTPHeaders = []corev1.HTTPHeader{{Name: "Host", Value: u.Host}}
		}
		return corev1.ProbeHandler{HTTPGet: g}, nil
	default: // TCP
		_, ps, _ := net.SplitHostPort(h.Test[1])
		port, err := strconv.ParseUint(ps, 10, 16)
		if err != nil || port == 0 {
			return corev1.ProbeHandler{}, fmt.Errorf("TCP %q: want :port", h.Test[1])
		}
		return corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(port))}}, nil
	}
}

func urlPort(u *url.URL) (int32, error) {
	ps := u.Port()
	if ps == "" {
		if u.Scheme == "https" {
			return 443, nil
		}
		return 80, nil
	}
	p, err := strconv.ParseUint(ps, 10, 16)
	if err != nil || p == 0 {
		return 0, fmt.Errorf("HTTP %q: bad port %q", u, ps)
	}
	return int32(p), nil
}

// deepHandler copies a handler so the probes share no pointers (a YAML
// encoder does not care; a later mutation of one would).
func deepHandler(h corev1.ProbeHandler) corev1.ProbeHandler { return *h.DeepCopy() }

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// ceilSeconds rounds up to whole seconds, at least 1 (Kubernetes' unit).
func ceilSeconds(d time.Duration) int32 {
	s := math.Ceil(d.Seconds())
	return int32(max(1, min(s, math.MaxInt32)))
}
