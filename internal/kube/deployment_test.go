package kube

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/internal/model"
)

func TestDeploymentMapping(t *testing.T) {
	s := base()
	s.Entrypoint, s.Command = []string{"/app/web"}, []string{"-listen", ":8080"}
	s.Env = map[string]string{"Z": "1", "A": "2"}
	s.WorkingDir, s.Hostname = "/srv", "web-host"
	s.StopTimeout, s.StopSignal = 25*time.Second, syscall.SIGQUIT
	s.MemoryBytes, s.CPUs = 256<<20, 0.5
	s.Labels = map[string]string{"team": "shop", "bad key!": "x"}
	r := translate(t, Options{}, s)
	d := find[*appsv1.Deployment](t, r, "Deployment", "web")
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != digest || fmt.Sprint(c.Command) != "[/app/web]" || fmt.Sprint(c.Args) != "[-listen :8080]" || c.WorkingDir != "/srv" {
		t.Errorf("container %+v", c)
	}
	if fmt.Sprint(c.Env) != fmt.Sprint([]corev1.EnvVar{{Name: "A", Value: "2"}, {Name: "Z", Value: "1"}}) {
		t.Errorf("env not sorted: %v", c.Env)
	}
	if *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Hostname != "web-host" || *d.Spec.Template.Spec.TerminationGracePeriodSeconds != 25 {
		t.Errorf("spec %+v", d.Spec)
	}
	if pre := c.Lifecycle.PreStop.Exec.Command; fmt.Sprint(pre) != "[kill -QUIT 1]" || !warned(r, "stop_signal") {
		t.Errorf("preStop %v", pre)
	}
	if m, cpu := c.Resources.Limits[corev1.ResourceMemory], c.Resources.Limits[corev1.ResourceCPU]; m.String() != "256Mi" || cpu.String() != "500m" {
		t.Errorf("limits %v %v", m.String(), cpu.String())
	}
	if d.Annotations["team"] != "shop" || !warned(r, "labels.bad key!") {
		t.Errorf("labels → annotations %v, warnings %v", d.Annotations, r.Warnings)
	}
	if d.Spec.Template.Annotations[AnnotationConfigHash] == "" {
		t.Error("no config hash")
	}
	// Default grace: berth's 10 s, not Kubernetes' 30 s; SIGTERM needs no
	// hook, but a serving pod sleeps 5 s before it (the endpoint removal
	// reaches kube-proxy first: no refused connections in a rollout).
	s = base()
	s.StopSignal = syscall.SIGTERM
	d = find[*appsv1.Deployment](t, translate(t, Options{}, s), "Deployment", "web")
	if l := d.Spec.Template.Spec.Containers[0].Lifecycle; *d.Spec.Template.Spec.TerminationGracePeriodSeconds != 10 || l == nil || l.PreStop.Sleep == nil || l.PreStop.Sleep.Seconds != 5 {
		t.Errorf("defaults: %+v", d.Spec.Template.Spec)
	}
	s.Ports, s.StopTimeout = nil, 0
	d = find[*appsv1.Deployment](t, translate(t, Options{}, s), "Deployment", "web")
	if d.Spec.Template.Spec.Containers[0].Lifecycle != nil {
		t.Errorf("a service without ports: %+v", d.Spec.Template.Spec.Containers[0].Lifecycle)
	}
	s.Ports, s.StopTimeout = base().Ports, 3*time.Second
	d = find[*appsv1.Deployment](t, translate(t, Options{}, s), "Deployment", "web")
	if l := d.Spec.Template.Spec.Containers[0].Lifecycle; l == nil || l.PreStop.Sleep.Seconds != 2 {
		t.Errorf("stop_grace_period 3s: %+v, want a 2 s sleep", l)
	}
}

func TestConfigHashFollowsTheSpecOnly(t *testing.T) {
	hash := func(s model.ServiceSpec) string {
		return find[*appsv1.Deployment](t, translate(t, Options{}, s), "Deployment", "web").Spec.Template.Annotations[AnnotationConfigHash]
	}
	a := base()
	b := base()
	b.Update = &model.UpdateConfig{Order: "stop-first"}
	c := base()
	c.Env = map[string]string{"V": "2"}
	if hash(a) != hash(b) {
		t.Error("update_config changed the pods' config hash (a rollout for nothing)")
	}
	if hash(a) == hash(c) {
		t.Error("a new environment kept the config hash")
	}
}

func TestRestartPolicyWarns(t *testing.T) {
	for mode, warn := range map[model.RestartMode]bool{model.RestartAlways: false, model.RestartUnlessStopped: false, model.RestartNo: true, model.RestartOnFailure: true} {
		s := base()
		s.Restart = model.RestartPolicy{Mode: mode}
		if r := translate(t, Options{}, s); warned(r, "restart") != warn {
			t.Errorf("%s: warnings %v", mode, r.Warnings)
		}
	}
}

func TestServiceRefusals(t *testing.T) {
	for _, tc := range []struct {
		edit func(*model.ServiceSpec)
		want string
	}{
		{func(s *model.ServiceSpec) { s.Name = "Web_1" }, `name "Web_1" is not a valid Kubernetes name`},
		{func(s *model.ServiceSpec) { s.Name = "1web" }, `name "1web" is not a valid Kubernetes name`},
		{func(s *model.ServiceSpec) { s.Image = "" }, "image: none"},
		{func(s *model.ServiceSpec) { s.User = "postgres" }, `user "postgres": Kubernetes runs containers as numeric ids only`},
		{func(s *model.ServiceSpec) { s.User = "1:staff" }, `group "staff" is not a numeric id`},
		{func(s *model.ServiceSpec) { s.Hostname = "Bad_Host" }, `hostname "Bad_Host"`},
		{func(s *model.ServiceSpec) { s.CapAdd = []string{"NET ADMIN"} }, `cap_add: "NET ADMIN" is not a capability name`},
		{func(s *model.ServiceSpec) { s.StopSignal = 99 }, "stop_signal 99: unknown signal"},
		{func(s *model.ServiceSpec) { s.CPUs = -1 }, "resources: negative"},
	} {
		s := base()
		tc.edit(&s)
		_, err := Translate(model.StackSpec{Name: "shop", Services: []model.ServiceSpec{s}}, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", s.Name, err, tc.want)
		}
	}
}

func TestEmptyCommandWarns(t *testing.T) {
	s := base()
	s.Command, s.Entrypoint = []string{}, []string{}
	r := translate(t, Options{}, s)
	if !warned(r, "command") || !warned(r, "entrypoint") {
		t.Errorf("warnings %v", r.Warnings)
	}
}
