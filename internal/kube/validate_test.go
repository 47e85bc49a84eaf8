package kube

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidateObjectRefuses(t *testing.T) {
	svc := func(name string, labels map[string]string) *corev1.Service {
		return &corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	for _, tc := range []struct {
		o    Object
		want string
	}{
		{svc("1web", nil), "Service 1web: metadata.name"},
		{svc("web", map[string]string{"berth.dev/stack": "a b"}), "metadata.labels value a b"},
		{svc("web", map[string]string{"bad key/x/y": "v"}), "metadata.labels key bad key/x/y"},
		{&corev1.ConfigMap{TypeMeta: metav1.TypeMeta{Kind: "ConfigMap"}, ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"a/b": "x"}}, "data key"},
	} {
		if err := ValidateObject(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.o.GetName(), err, tc.want)
		}
	}
	if err := ValidateObject(svc("web", map[string]string{LabelStack: "shop"})); err != nil {
		t.Error(err)
	}
}
