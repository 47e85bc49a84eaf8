package kube

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/internal/model"
)

func container(t *testing.T, s model.ServiceSpec) (corev1.Container, Result) {
	t.Helper()
	r := translate(t, Options{}, s)
	return find[*appsv1.Deployment](t, r, "Deployment", s.Name).Spec.Template.Spec.Containers[0], r
}

// kompose maps a healthcheck to a livenessProbe only; berth gates traffic
// on it too.
func TestHealthcheckIsReadinessAndLiveness(t *testing.T) {
	s := base()
	s.Health = &model.HealthCheck{Test: []string{"CMD-SHELL", "curl -f localhost"}, Interval: 2 * time.Second, Timeout: 1500 * time.Millisecond, Retries: 5}
	c, _ := container(t, s)
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil {
			t.Fatalf("no %s probe", name)
		}
		if fmt.Sprint(p.Exec.Command) != "[/bin/sh -c curl -f localhost]" || p.PeriodSeconds != 2 || p.TimeoutSeconds != 2 || p.FailureThreshold != 5 || p.SuccessThreshold != 1 {
			t.Errorf("%s: %+v", name, p)
		}
	}
	if c.StartupProbe != nil {
		t.Errorf("startup probe without start_period: %+v", c.StartupProbe)
	}
	// Docker's defaults: 30 s, 30 s, 3.
	s.Health = &model.HealthCheck{Test: []string{"CMD", "true"}, StartPeriod: 20 * time.Second, StartInterval: 2 * time.Second}
	c, _ = container(t, s)
	if p := c.LivenessProbe; p.PeriodSeconds != 30 || p.TimeoutSeconds != 30 || p.FailureThreshold != 3 {
		t.Errorf("defaults: %+v", p)
	}
	// start_period: failures within it do not count, checks every start_interval.
	if p := c.StartupProbe; p == nil || p.PeriodSeconds != 2 || p.FailureThreshold != 10+3 {
		t.Errorf("startup probe %+v", p)
	}
}

func TestHealthcheckForms(t *testing.T) {
	s := base()
	s.Health = &model.HealthCheck{Test: []string{"HTTP", "http://:8080/healthz?x=1"}}
	c, _ := container(t, s)
	if g := c.ReadinessProbe.HTTPGet; g == nil || g.Path != "/healthz?x=1" || g.Port.IntVal != 8080 || g.Scheme != "HTTP" {
		t.Errorf("HTTP: %+v", c.ReadinessProbe)
	}
	s.Health = &model.HealthCheck{Test: []string{"TCP", ":5432"}}
	c, _ = container(t, s)
	if p := c.LivenessProbe.TCPSocket; p == nil || p.Port.IntVal != 5432 {
		t.Errorf("TCP: %+v", c.LivenessProbe)
	}
	s.Health = &model.HealthCheck{Test: []string{"NONE"}}
	c, r := container(t, s)
	if c.ReadinessProbe != nil || c.LivenessProbe != nil || len(r.Warnings) != 0 {
		t.Errorf("NONE: %+v %v", c, r.Warnings)
	}
	s.Health = nil
	if _, r := container(t, s); !warned(r, "healthcheck") {
		t.Errorf("no healthcheck: no warning that the image's HEALTHCHECK is not run: %v", r.Warnings)
	}
	s.Health = &model.HealthCheck{Test: []string{"RUN", "x"}}
	if _, r := container(t, s); !warned(r, "healthcheck.test") {
		t.Errorf("bad test: %v", r.Warnings)
	}
}
