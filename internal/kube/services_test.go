package kube

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/berth-dev/berth/internal/model"
)

func TestPortsAreClusterIPAndNodePort(t *testing.T) {
	s := base()
	s.Ports = append(s.Ports, model.PortMapping{HostPort: 8443, ContainerPort: 8443, Protocol: "tcp"}, model.PortMapping{HostIP: "127.0.0.1", HostPort: 31053, ContainerPort: 53, Protocol: "udp"})
	r := translate(t, Options{}, s)
	in := find[*corev1.Service](t, r, "Service", "web")
	if in.Spec.Type != corev1.ServiceTypeClusterIP || len(in.Spec.Ports) != 3 || in.Spec.Selector[LabelService] != "web" {
		t.Errorf("ClusterIP Service %+v", in.Spec)
	}
	pub := find[*corev1.Service](t, r, "Service", "web-published")
	if pub.Spec.Type != corev1.ServiceTypeNodePort || pub.Spec.Ports[0].NodePort != 30080 || pub.Spec.Ports[1].NodePort != 0 || pub.Spec.Ports[2].Protocol != corev1.ProtocolUDP {
		t.Errorf("NodePort Service %+v", pub.Spec)
	}
	if !warned(r, "ports") {
		t.Errorf("host port 8443 outside the node port range / host_ip: no warning: %v", r.Warnings)
	}
	r = translate(t, Options{PublishType: "LoadBalancer"}, base())
	if lb := find[*corev1.Service](t, r, "Service", "web-published"); lb.Spec.Type != corev1.ServiceTypeLoadBalancer || lb.Spec.Ports[0].Port != 30080 {
		t.Errorf("LoadBalancer %+v", lb.Spec)
	}
	// No ports: a headless Service without ports (the name resolves to
	// the pods, every port reachable, as on berth's network).
	s = base()
	s.Ports = nil
	r = translate(t, Options{}, s)
	if len(r.Objects) != 2 {
		t.Errorf("port-less service: %v", names(r))
	}
	if h := find[*corev1.Service](t, r, "Service", "web"); h.Spec.ClusterIP != corev1.ClusterIPNone || len(h.Spec.Ports) != 0 || h.Spec.Selector[LabelService] != "web" {
		t.Errorf("port-less service's Service %+v, want headless without ports", h.Spec)
	}
}

func TestProxyHostsAreIngress(t *testing.T) {
	s := base()
	s.Proxy = &model.ProxyOptions{Hosts: []string{"b.example", "a.example"}, Balance: "least_conn", TLSCert: "/c", TLSKey: "/k"}
	r := translate(t, Options{}, s)
	ing := find[*networkingv1.Ingress](t, r, "Ingress", "web")
	if len(ing.Spec.Rules) != 2 || ing.Spec.Rules[0].Host != "a.example" || ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name != "web" ||
		ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Number != 8080 || ing.Spec.TLS[0].SecretName != "web-tls" {
		t.Errorf("Ingress %+v", ing.Spec)
	}
	for _, o := range r.Objects {
		if o.GetName() == "web-published" || o.GetName() == "web-tls" {
			t.Errorf("%s: hosts are routed by the Ingress; the TLS key is not written without SecretValues", o.GetName())
		}
	}
	if !warned(r, "x-berth-proxy.balance") || !warned(r, "x-berth-proxy.tls_cert") {
		t.Errorf("warnings %v", r.Warnings)
	}
	r = translate(t, Options{SecretValues: true, ReadFile: func(p string) ([]byte, error) { return []byte(p), nil }}, s)
	if tls := find[*corev1.Secret](t, r, "Secret", "web-tls"); tls.Type != corev1.SecretTypeTLS || string(tls.Data["tls.key"]) != "/k" {
		t.Errorf("TLS secret %+v", tls)
	}
}

// backend_protocol: h2c marks the Service ports appProtocol
// kubernetes.io/h2c and warns that the Ingress controller decides.
func TestProxyH2CIsAppProtocol(t *testing.T) {
	s := base()
	s.Proxy = &model.ProxyOptions{Hosts: []string{"grpc.example"}, BackendProtocol: "h2c"}
	r := translate(t, Options{}, s)
	in := find[*corev1.Service](t, r, "Service", "web")
	if ap := in.Spec.Ports[0].AppProtocol; ap == nil || *ap != "kubernetes.io/h2c" {
		t.Errorf("Service ports %+v, want appProtocol kubernetes.io/h2c", in.Spec.Ports)
	}
	if !warned(r, "x-berth-proxy.backend_protocol") {
		t.Errorf("warnings %v", r.Warnings)
	}
	r = translate(t, Options{}, base())
	if ap := find[*corev1.Service](t, r, "Service", "web").Spec.Ports[0].AppProtocol; ap != nil {
		t.Errorf("appProtocol %q without backend_protocol", *ap)
	}
}

func TestNameClashesAndBadHostsRefused(t *testing.T) {
	web, other := base(), base()
	other.Name = "web-published"
	clash := func(s ...model.ServiceSpec) error {
		_, err := Translate(model.StackSpec{Name: "shop", Services: s}, Options{})
		return err
	}
	if err := clash(web, other); err == nil || !strings.Contains(err.Error(), "two objects are Service web-published") {
		t.Errorf("service names: %v", err)
	}
	a, b := base(), base()
	b.Name = "worker"
	a.Mounts = []model.Mount{{Type: "volume", Source: "db_data", Target: "/d", ReadOnly: true}}
	b.Mounts = []model.Mount{{Type: "volume", Source: "db-data", Target: "/d", ReadOnly: true}}
	if err := clash(a, b); err == nil || !strings.Contains(err.Error(), `volumes "db_data" and "db-data" both become the Kubernetes name db-data`) {
		t.Errorf("volume names: %v", err)
	}
	a.Mounts, b.Mounts = nil, nil
	a.Secrets = []model.Secret{{Name: "db_pw", File: "/a"}}
	b.Secrets = []model.Secret{{Name: "db-pw", File: "/b"}}
	if err := clash(a, b); err == nil || !strings.Contains(err.Error(), `secrets "db_pw" and "db-pw"`) {
		t.Errorf("secret names: %v", err)
	}
	web.Proxy = &model.ProxyOptions{Hosts: []string{"Bad_Host.example"}}
	if err := clash(web); err == nil || !strings.Contains(err.Error(), `x-berth-proxy.hosts: "Bad_Host.example"`) {
		t.Errorf("host: %v", err)
	}
	web.Proxy.Hosts = []string{"*.shop.example"}
	if err := clash(web); err != nil {
		t.Errorf("wildcard host: %v", err)
	}
}

// One container port published on two host ports is one container port.
func TestPortPublishedTwice(t *testing.T) {
	s := base()
	s.Ports = append(s.Ports, model.PortMapping{HostPort: 30081, ContainerPort: 8080, Protocol: "tcp"})
	r := translate(t, Options{}, s)
	if c := find[*appsv1.Deployment](t, r, "Deployment", "web").Spec.Template.Spec.Containers[0]; len(c.Ports) != 1 {
		t.Errorf("container ports %+v", c.Ports)
	}
}
