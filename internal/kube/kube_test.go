package kube

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/berth-dev/berth/internal/model"
)

const digest = "127.0.0.1:5000/shop/web@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// base is a service that translates without warnings.
func base() model.ServiceSpec {
	return model.ServiceSpec{Name: "web", Image: digest, Replicas: 2,
		Restart: model.RestartPolicy{Mode: model.RestartAlways},
		Ports:   []model.PortMapping{{HostIP: "0.0.0.0", HostPort: 30080, ContainerPort: 8080, Protocol: "tcp"}},
		Health:  &model.HealthCheck{Test: []string{"CMD", "/app/web", "-check"}}}
}

func translate(t testing.TB, opts Options, svcs ...model.ServiceSpec) Result {
	t.Helper()
	r, err := Translate(model.StackSpec{Name: "shop", Services: svcs}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func find[T Object](t testing.TB, r Result, kind, name string) T {
	t.Helper()
	for _, o := range r.Objects {
		if o.GetObjectKind().GroupVersionKind().Kind == kind && o.GetName() == name {
			return o.(T)
		}
	}
	t.Fatalf("no %s %s in %v", kind, name, names(r))
	var zero T
	return zero
}

func names(r Result) []string {
	var out []string
	for _, o := range r.Objects {
		out = append(out, o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName())
	}
	return out
}

func warned(r Result, field string) bool {
	for _, w := range r.Warnings {
		if w.Field == field || strings.HasPrefix(w.Field, field+".") {
			return true
		}
	}
	return false
}

func TestTranslateBaseHasNoWarnings(t *testing.T) {
	r := translate(t, Options{Namespace: "prod"}, base())
	if len(r.Warnings) != 0 {
		t.Errorf("warnings: %v", r.Warnings)
	}
	want := []string{"Service/web", "Service/web-published", "Deployment/web"}
	if fmt.Sprint(names(r)) != fmt.Sprint(want) {
		t.Errorf("objects %v, want %v", names(r), want)
	}
	for _, o := range r.Objects {
		l := o.GetLabels()
		if l[LabelManagedBy] != "berth" || l[LabelStack] != "shop" || l[LabelService] != "web" || o.GetNamespace() != "prod" {
			t.Errorf("%s: labels %v namespace %q", o.GetName(), l, o.GetNamespace())
		}
	}
}

func TestStackLevelErrors(t *testing.T) {
	for _, tc := range []struct {
		spec model.StackSpec
		opts Options
		want string
	}{
		{model.StackSpec{Name: "Shop Stack"}, Options{}, `stack name "Shop Stack" cannot label`},
		{model.StackSpec{Name: "shop", Services: []model.ServiceSpec{base(), base()}}, Options{}, "service web: defined twice"},
		{model.StackSpec{Name: "shop"}, Options{PublishType: "ClusterIP"}, `service type "ClusterIP"`},
	} {
		if _, err := Translate(tc.spec, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.spec, err, tc.want)
		}
	}
	r, err := Translate(model.StackSpec{Name: "shop", Services: []model.ServiceSpec{base()}, Only: []string{"web"}}, Options{})
	if err != nil || !warned(r, "only") {
		t.Errorf("only: %v %v", r.Warnings, err)
	}
}

// Every object of a stack that uses every mapping passes the offline
// validation, and kinds come in apply order.
func TestObjectsValidateAndAreOrdered(t *testing.T) {
	r := translate(t, Options{ReadFile: func(string) ([]byte, error) { return []byte("v"), nil }, SecretValues: true}, fullStack()...)
	last := -1
	for _, o := range r.Objects {
		if err := ValidateObject(o); err != nil {
			t.Error(err)
		}
		i := indexOf(kindOrder, o.GetObjectKind().GroupVersionKind().Kind)
		if i < last {
			t.Errorf("%s out of order: %v", o.GetName(), names(r))
		}
		last = i
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// fullStack uses every mapping: a web service behind hosts and a database
// with a volume, a secret and a config.
func fullStack() []model.ServiceSpec {
	web := base()
	web.Proxy = &model.ProxyOptions{Hosts: []string{"shop.example", "www.shop.example"}, TLSCert: "/c.pem", TLSKey: "/k.pem"}
	web.Update = &model.UpdateConfig{Order: "start-first", Monitor: 10 * time.Second}
	web.DependsOn = map[string]string{"db": "service_healthy"}
	db := model.ServiceSpec{Name: "db", Image: "postgres@sha256:" + strings.Repeat("a", 64), Replicas: 1, User: "999:999",
		Restart:     model.RestartPolicy{Mode: model.RestartUnlessStopped},
		Ports:       []model.PortMapping{{ContainerPort: 5432, Protocol: "tcp"}},
		Mounts:      []model.Mount{{Type: "volume", Source: "shop_data", Target: "/var/lib/postgresql/data"}, {Type: "tmpfs", Target: "/tmp", TmpfsSize: 1 << 20}},
		Secrets:     []model.Secret{{Name: "db_password", File: "/s/pw", UID: 999, GID: 999, Mode: 0o440}},
		Configs:     []model.Config{{Name: "pg_conf", Target: "/etc/pg.conf", Content: "max_connections=10\n"}},
		Health:      &model.HealthCheck{Test: []string{"CMD-SHELL", "pg_isready"}, Interval: 2 * time.Second, StartPeriod: 10 * time.Second},
		StopSignal:  syscall.SIGINT,
		StopTimeout: 30 * time.Second}
	return []model.ServiceSpec{db, web}
}

var (
	_ = appsv1.Deployment{}
	_ = corev1.Service{}
	_ = networkingv1.Ingress{}
)
