package kube

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/berth-dev/berth/internal/model"
)

// PublishedSuffix names the Service of a service's published ports:
// NAME-published.
const PublishedSuffix = "-published"

// nodePortRange is the API server's default --service-node-port-range.
const nodePortMin, nodePortMax = 30000, 32767

// services gives a service with ports a ClusterIP Service under its own
// name (other pods reach it by name, as on berth's networks), its
// published ports a NodePort (or LoadBalancer) Service, and its
// x-berth-proxy hosts an Ingress. A service without ports (a database
// the others reach on its own port, as compose's network allows) gets a
// headless Service with no ports: its name resolves to its ready pods'
// addresses, every port of theirs reachable, as on berth's network.
func (t *translator) services(svc model.ServiceSpec) error {
	if len(svc.Ports) == 0 {
		if svc.Proxy != nil {
			t.warn(svc.Name, "x-berth-proxy", "the service publishes no ports: nothing to route")
		}
		headless := t.serviceObject(svc.Name, svc.Name, corev1.ServiceTypeClusterIP, nil)
		headless.Spec.ClusterIP = corev1.ClusterIPNone
		t.objects = append(t.objects, headless)
		return nil
	}
	var internal, published []corev1.ServicePort
	seen := map[string]bool{}
	for _, p := range svc.Ports {
		name := portName(p)
		if seen[name] {
			// One container port published twice (two host ports).
			continue
		}
		seen[name] = true
		sp := corev1.ServicePort{Name: name, Port: int32(p.ContainerPort), TargetPort: intstr.FromInt32(int32(p.ContainerPort)), Protocol: protocol(p.Protocol)}
		if o := svc.Proxy; o != nil && o.BackendProtocol == "h2c" && o.Protocol != "tcp" && sp.Protocol == corev1.ProtocolTCP {
			sp.AppProtocol = &appProtocolH2C
		}
		internal = append(internal, sp)
		if svc.Proxy != nil && len(svc.Proxy.Hosts) > 0 && sp.Protocol == corev1.ProtocolTCP {
			continue // routed by the Ingress
		}
		if p.HostIP != "" && p.HostIP != "0.0.0.0" && p.HostIP != "::" {
			t.warn(svc.Name, "ports", "host_ip %s: a %s Service listens on every node address", p.HostIP, t.opts.PublishType)
		}
		if p.HostPort >= nodePortMin && p.HostPort <= nodePortMax && t.opts.PublishType == "NodePort" {
			sp.NodePort = int32(p.HostPort)
		} else if p.HostPort != 0 {
			if t.opts.PublishType == "LoadBalancer" {
				sp.Port = int32(p.HostPort)
			} else {
				t.warn(svc.Name, "ports", "host port %d is outside the NodePort range %d-%d: the cluster picks the node port", p.HostPort, nodePortMin, nodePortMax)
			}
		}
		published = append(published, sp)
	}
	t.objects = append(t.objects, t.serviceObject(svc.Name, svc.Name, corev1.ServiceTypeClusterIP, internal))
	if len(published) > 0 {
		t.objects = append(t.objects, t.serviceObject(svc.Name+PublishedSuffix, svc.Name, corev1.ServiceType(t.opts.PublishType), published))
	}
	return t.ingress(svc, internal)
}

// appProtocolH2C is the standard appProtocol of a port speaking HTTP/2
// in clear text (x-berth-proxy backend_protocol: h2c).
var appProtocolH2C = "kubernetes.io/h2c"

func (t *translator) serviceObject(name, service string, typ corev1.ServiceType, ports []corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: t.objectMeta(name, service),
		Spec:       corev1.ServiceSpec{Type: typ, Selector: t.selector(service), Ports: slices.Clone(ports)},
	}
}

// ingress routes x-berth-proxy hosts to the service's first TCP port.
func (t *translator) ingress(svc model.ServiceSpec, ports []corev1.ServicePort) error {
	p := svc.Proxy
	if p == nil {
		return nil
	}
	if len(p.Hosts) == 0 {
		proto := p.Protocol
		if proto == "" {
			proto = "http"
		}
		t.warn(svc.Name, "x-berth-proxy", "protocol %s without hosts: the published ports are a %s Service, which sends traffic to ready pods only (no Ingress without hosts)", proto, t.opts.PublishType)
	}
	if p.Balance != "" && p.Balance != "round_robin" {
		t.warn(svc.Name, "x-berth-proxy.balance", "%s: a Service balances as kube-proxy does (an Ingress controller may offer it by its own annotation)", p.Balance)
	}
	if p.DrainTimeout > 0 {
		t.warn(svc.Name, "x-berth-proxy.drain_timeout", "%s: draining is terminationGracePeriodSeconds and the Ingress controller's", p.DrainTimeout)
	}
	if p.Timeouts != (model.ProxyTimeouts{}) {
		t.warn(svc.Name, "x-berth-proxy.timeouts", "request timeouts are the Ingress controller's settings (its own annotations), not mapped")
	}
	if p.BackendProtocol == "h2c" {
		t.warn(svc.Name, "x-berth-proxy.backend_protocol", "h2c: the Service ports say appProtocol %s; an Ingress controller may need its own annotation to speak h2c/gRPC to the pods (ingress-nginx: backend-protocol: GRPC)", appProtocolH2C)
	}
	if p.TLSAuto {
		t.warn(svc.Name, "x-berth-proxy.tls", "auto: the Ingress gets no certificate from berth's ACME settings; have cert-manager (or the Ingress controller) issue one for the hosts")
	}
	if a := p.ACME; a != nil {
		roots := "the host's"
		if a.CARoots != "" {
			roots = fmt.Sprintf("%d bytes of PEM", len(a.CARoots))
		}
		t.warn(svc.Name, "acme", "directory %q, email %q, challenge %q, renew_before %s, ca_roots %s: not mapped; a cert-manager Issuer names the CA on a cluster",
			a.Directory, a.Email, a.Challenge, a.RenewBefore, roots)
	}
	if p.NoRedirect {
		t.warn(svc.Name, "x-berth-proxy.tls.redirect", "false: the HTTP to HTTPS redirect is the Ingress controller's setting (its own annotation)")
	}
	if p.HSTS > 0 {
		t.warn(svc.Name, "x-berth-proxy.tls.hsts", "%s: Strict-Transport-Security is the Ingress controller's setting (its own annotation)", p.HSTS)
	}
	if len(p.Hosts) == 0 {
		if p.TLSCert != "" {
			t.warn(svc.Name, "x-berth-proxy.tls", "TLS without hosts: not mapped (an Ingress routes by host)")
		}
		return nil
	}
	var port *corev1.ServicePort
	for i := range ports {
		if ports[i].Protocol == corev1.ProtocolTCP {
			if port != nil {
				t.warn(svc.Name, "x-berth-proxy.hosts", "the Ingress routes to port %d only; port %d stays reachable inside the cluster", port.Port, ports[i].Port)
				continue
			}
			port = &ports[i]
		}
	}
	if port == nil {
		return fmt.Errorf("x-berth-proxy.hosts: the service publishes no TCP port to route to")
	}
	pathType := networkingv1.PathTypePrefix
	backend := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc.Name, Port: networkingv1.ServiceBackendPort{Number: port.Port}}}
	ing := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: t.objectMeta(svc.Name, svc.Name),
	}
	hosts := slices.Sorted(slices.Values(p.Hosts))
	for _, h := range hosts {
		errs := validation.IsDNS1123Subdomain(h)
		if strings.HasPrefix(h, "*.") {
			errs = validation.IsWildcardDNS1123Subdomain(h)
		}
		if len(errs) > 0 {
			return fmt.Errorf("x-berth-proxy.hosts: %q is not a host name an Ingress routes: %s", h, strings.Join(errs, "; "))
		}
	}
	for _, h := range slices.Compact(hosts) {
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: h, IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &pathType, Backend: backend}}}}})
	}
	if p.TLSCert != "" {
		name := svc.Name + "-tls"
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: slices.Compact(hosts), SecretName: name}}
		if err := t.tlsSecret(svc, name); err != nil {
			return err
		}
	}
	t.objects = append(t.objects, ing)
	return nil
}

// tlsSecret is the kubernetes.io/tls Secret of the proxy's certificate.
func (t *translator) tlsSecret(svc model.ServiceSpec, name string) error {
	s := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: t.objectMeta(name, svc.Name),
		Type:       corev1.SecretTypeTLS,
	}
	if t.opts.SecretValues && t.opts.ReadFile != nil {
		cert, err := t.opts.ReadFile(svc.Proxy.TLSCert)
		if err != nil {
			return fmt.Errorf("x-berth-proxy.tls_cert: %w", err)
		}
		key, err := t.opts.ReadFile(svc.Proxy.TLSKey)
		if err != nil {
			return fmt.Errorf("x-berth-proxy.tls_key: %w", err)
		}
		s.Data = map[string][]byte{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: key}
		t.objects = append(t.objects, s)
		return nil
	}
	t.warn(svc.Name, "x-berth-proxy.tls_cert", "the certificate and key are not written into the manifests: create the Secret %s (kubectl create secret tls %s --cert ... --key ...)", name, name)
	return nil
}
