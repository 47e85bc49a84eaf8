package kube

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// checkObjectName: object names are DNS-1123 subdomains.
func checkObjectName(name string) error {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("%q is not a valid Kubernetes object name: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// ValidateObject checks what can be checked offline with apimachinery's
// validation: the name, namespace, labels and annotations of an object,
// the labels of a pod template and its selector, and the names of ports,
// volumes and containers. The API server's validation (server-side apply
// with dry run) checks the rest.
func ValidateObject(o Object) error {
	kind := o.GetObjectKind().GroupVersionKind().Kind
	at := func(field string, errs []string) error {
		if len(errs) == 0 {
			return nil
		}
		return fmt.Errorf("%s %s: %s: %s", kind, o.GetName(), field, strings.Join(errs, "; "))
	}
	nameErrs := validation.IsDNS1123Subdomain(o.GetName())
	if kind == "Service" {
		nameErrs = validation.IsDNS1035Label(o.GetName())
	}
	errs := []error{at("metadata.name", nameErrs)}
	if ns := o.GetNamespace(); ns != "" {
		errs = append(errs, at("metadata.namespace", validation.IsDNS1123Label(ns)))
	}
	errs = append(errs, labels("metadata.labels", o.GetLabels(), at), annotations(o.GetAnnotations(), at))
	switch v := o.(type) {
	case *appsv1.Deployment:
		errs = append(errs, labels("spec.template.metadata.labels", v.Spec.Template.Labels, at),
			labels("spec.selector.matchLabels", v.Spec.Selector.MatchLabels, at))
		for k, want := range v.Spec.Selector.MatchLabels {
			if v.Spec.Template.Labels[k] != want {
				errs = append(errs, fmt.Errorf("Deployment %s: the selector %s=%s does not match the pod template", v.Name, k, want))
			}
		}
		for _, c := range v.Spec.Template.Spec.Containers {
			errs = append(errs, at("container name", validation.IsDNS1123Label(c.Name)))
			for _, p := range c.Ports {
				errs = append(errs, at("port name", validation.IsValidPortName(p.Name)), at("containerPort", validation.IsValidPortNum(int(p.ContainerPort))))
			}
			for _, e := range c.Env {
				errs = append(errs, at("env "+e.Name, validation.IsEnvVarName(e.Name)))
			}
		}
		for _, vol := range v.Spec.Template.Spec.Volumes {
			errs = append(errs, at("volume name", validation.IsDNS1123Label(vol.Name)))
		}
	case *corev1.Service:
		for _, p := range v.Spec.Ports {
			errs = append(errs, at("port name", validation.IsValidPortName(p.Name)), at("port", validation.IsValidPortNum(int(p.Port))))
		}
	case *corev1.ConfigMap:
		for k := range v.Data {
			errs = append(errs, at("data key", validation.IsConfigMapKey(k)))
		}
		for k := range v.BinaryData {
			errs = append(errs, at("binaryData key", validation.IsConfigMapKey(k)))
		}
	case *corev1.Secret:
		for k := range v.Data {
			errs = append(errs, at("data key", validation.IsConfigMapKey(k)))
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func labels(field string, l map[string]string, at func(string, []string) error) error {
	for k, v := range l {
		if err := at(field+" key "+k, validation.IsQualifiedName(k)); err != nil {
			return err
		}
		if err := at(field+" value "+v, validation.IsValidLabelValue(v)); err != nil {
			return err
		}
	}
	return nil
}

func annotations(a map[string]string, at func(string, []string) error) error {
	size := 0
	for k, v := range a {
		if err := at("metadata.annotations key "+k, validation.IsQualifiedName(strings.ToLower(k))); err != nil {
			return err
		}
		size += len(k) + len(v)
	}
	if size > 256*1024 {
		return at("metadata.annotations", []string{fmt.Sprintf("%d bytes, more than 256 KiB", size)})
	}
	return nil
}
