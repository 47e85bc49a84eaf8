// Package kube translates the stack the engine runs (model.StackSpec) into
// Kubernetes objects: a Deployment per service, Services, an Ingress for
// x-berth-proxy hosts, PersistentVolumeClaims, Secrets and ConfigMaps
// (docs/kubernetes.md is the field-by-field table). It works on the
// model, not on stack.Stack: the model is what berth's own engine gets
// after the environment's overrides, digest pinning (deploy --tag, ship)
// and the policy gate, so a cluster runs exactly what the local engine
// would; the stack's extra pieces (build:, networks:) are resolved or
// warned about before the model exists.
//
// Every field of a service is mapped, refused with an error, or reported
// as a Warning naming the service and field — never dropped silently
// (TestEveryServiceFieldIsHandled holds every field of model.ServiceSpec
// to that). Output is deterministic: objects are sorted by kind and name.
package kube

import (
	"cmp"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/berth-dev/berth/internal/model"
)

// Object is one Kubernetes object of the translation (a typed k8s.io/api
// struct with its TypeMeta set).
type Object interface {
	metav1.Object
	runtime.Object
}

// Warning is a field with no exact Kubernetes mapping: what happens
// instead. Service is "" for a stack-level one.
type Warning struct {
	Service string
	Field   string
	Message string
}

func (w Warning) String() string {
	if w.Service == "" {
		return w.Field + ": " + w.Message
	}
	return "services." + w.Service + "." + w.Field + ": " + w.Message
}

// Options are the translation's choices that the stack does not make.
type Options struct {
	// Namespace of every object ("" leaves it unset: kubectl's).
	Namespace string
	// PublishType is the type of the Service of published ports:
	// NodePort (default) or LoadBalancer.
	PublishType string
	// VolumeSize is the storage request of each PersistentVolumeClaim
	// (compose has none; default 1Gi).
	VolumeSize string
	// ReadFile reads a config's or secret's host file (nil: os.ReadFile is
	// not assumed; such ConfigMaps and Secrets get no data and a warning).
	ReadFile func(path string) ([]byte, error)
	// SecretValues puts the secrets' values into the Secret objects; off,
	// a Secret carries no data (export must not write credentials into a
	// GitOps repository) and a warning says to create it.
	SecretValues bool
	// PullAuth are the credentials of the registries the stack's images
	// come from (by host): they become one kubernetes.io/dockerconfigjson
	// Secret that every pod names in imagePullSecrets (the value only with
	// SecretValues).
	PullAuth map[string]RegistryAuth
}

// Result is the translation of a stack.
type Result struct {
	Objects  []Object
	Warnings []Warning
}

// translator accumulates one translation.
type translator struct {
	opts     Options
	stack    string
	objects  []Object
	warnings []Warning
	// The PVCs, Secrets and ConfigMaps emitted: object name → the
	// volume's, secret's or config's own name (two that give one object
	// name are an error).
	volumes map[string]string
	secrets map[string]string
	configs map[string]string
	// pullSecretName is the image pull Secret every pod names ("": none).
	pullSecretName string
}

func (t *translator) warn(service, field, format string, args ...any) {
	t.warnings = append(t.warnings, Warning{Service: service, Field: field, Message: fmt.Sprintf(format, args...)})
}

// Translate turns a stack into Kubernetes objects. An error names the
// service and field that cannot be translated; nothing is returned then.
func Translate(spec model.StackSpec, opts Options) (Result, error) {
	if opts.PublishType == "" {
		opts.PublishType = "NodePort"
	}
	if opts.PublishType != "NodePort" && opts.PublishType != "LoadBalancer" {
		return Result{}, fmt.Errorf("service type %q: want NodePort or LoadBalancer", opts.PublishType)
	}
	if opts.VolumeSize == "" {
		opts.VolumeSize = "1Gi"
	}
	if err := checkStackName(spec.Name); err != nil {
		return Result{}, err
	}
	t := &translator{opts: opts, stack: spec.Name, volumes: map[string]string{}, secrets: map[string]string{}, configs: map[string]string{}}
	if len(spec.Only) > 0 {
		t.warn("", "only", "a selection of services (%v) is ignored: the manifests describe the whole stack", spec.Only)
	}
	pull, err := t.pullSecret()
	if err != nil {
		return Result{}, err
	}
	t.pullSecretName = pull
	seen := map[string]bool{}
	for _, svc := range spec.Services {
		if seen[svc.Name] {
			return Result{}, fmt.Errorf("service %s: defined twice", svc.Name)
		}
		seen[svc.Name] = true
		if err := t.service(svc); err != nil {
			return Result{}, fmt.Errorf("service %s: %w", svc.Name, err)
		}
	}
	sortObjects(t.objects)
	for i, o := range t.objects {
		if err := ValidateObject(o); err != nil {
			return Result{}, err
		}
		if i > 0 && sameObject(t.objects[i-1], o) {
			return Result{}, fmt.Errorf("two objects are %s %s (two services, volumes, secrets or configs whose names give one Kubernetes name): rename one", o.GetObjectKind().GroupVersionKind().Kind, o.GetName())
		}
	}
	slices.SortStableFunc(t.warnings, func(a, b Warning) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Field, b.Field))
	})
	return Result{Objects: t.objects, Warnings: t.warnings}, nil
}

// kindOrder is the order objects are written and applied in: what a
// Deployment refers to comes before it.
var kindOrder = []string{"ConfigMap", "Secret", "PersistentVolumeClaim", "Service", "Deployment", "Ingress"}

func sortObjects(objs []Object) {
	slices.SortStableFunc(objs, func(a, b Object) int {
		ka, kb := a.GetObjectKind().GroupVersionKind().Kind, b.GetObjectKind().GroupVersionKind().Kind
		return cmp.Or(cmp.Compare(slices.Index(kindOrder, ka), slices.Index(kindOrder, kb)), cmp.Compare(a.GetName(), b.GetName()))
	})
}

func sameObject(a, b Object) bool {
	return a.GetName() == b.GetName() && a.GetObjectKind().GroupVersionKind().Kind == b.GetObjectKind().GroupVersionKind().Kind
}
