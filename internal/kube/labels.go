package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/berth-dev/berth/internal/model"
)

// The labels and annotations tying every object to its stack.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelStack     = "berth.dev/stack"
	LabelService   = "berth.dev/service"
	// AnnotationConfigHash is on a Deployment's pod template: the hash of
	// what its containers run (the service spec without proxy, update and
	// rollback settings, plus the content of its inline configs), so a
	// changed spec rolls out and an unchanged one does not.
	AnnotationConfigHash = "berth.dev/config-hash"
	ManagedBy            = "berth"
)

func checkStackName(name string) error {
	errs := validation.IsValidLabelValue(name)
	if name == "" {
		errs = append(errs, "must not be empty")
	}
	if len(errs) > 0 {
		return fmt.Errorf("stack name %q cannot label Kubernetes objects (berth.dev/stack): %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// checkServiceName: a service's name names its Deployment and its Service,
// whose names are DNS-1035 labels (lower-case letters, digits and '-',
// starting with a letter).
func checkServiceName(name string) error {
	if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
		return fmt.Errorf("name %q is not a valid Kubernetes name (it names the Deployment and the Service other pods reach it by): %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// objectMeta is the metadata of an object of the stack (service "" for a
// shared one: a volume, a secret, a config).
func (t *translator) objectMeta(name, service string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: t.opts.Namespace, Labels: t.labels(service)}
}

func (t *translator) labels(service string) map[string]string {
	l := map[string]string{LabelManagedBy: ManagedBy, LabelStack: t.stack}
	if service != "" {
		l[LabelService] = service
	}
	return l
}

// selector selects a service's pods.
func (t *translator) selector(service string) map[string]string {
	return map[string]string{LabelStack: t.stack, LabelService: service}
}

// configHash hashes what the containers run (as the engine's config hash,
// Proxy, Update and Rollback do not count) and the data of the configs and
// secrets they mount.
func configHash(svc model.ServiceSpec, data map[string][]byte) string {
	svc.Proxy, svc.Update, svc.Rollback = nil, nil, nil
	b, _ := json.Marshal(struct {
		Spec model.ServiceSpec `json:"spec"`
		Data map[string][]byte `json:"data"` // encoding/json sorts map keys
	}{svc, data})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// dnsName turns a host volume name ("<stack>_<key>") into an object name.
func dnsName(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "_", "-"))
}
