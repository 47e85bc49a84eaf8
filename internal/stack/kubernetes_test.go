package stack

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const kubeYAML = `images: {}
environments:
  k8s:
    registry: 127.0.0.1:5001
    kubernetes:
      kubeconfig: kube/config
      context: ${CTX:-test}
      namespace: shop
  defaulted:
    kubernetes: {}
  plain:
    registry: 127.0.0.1:5001
`

func TestLoadTargetsKubernetes(t *testing.T) {
	dir := write(t, map[string]string{"berth.yaml": kubeYAML})
	path := filepath.Join(dir, "berth.yaml")
	got, err := LoadTargets(path, LoadOptions{LookupEnv: env("HOME", "/home/u"), ProjectName: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (&Kubernetes{Kubeconfig: filepath.Join(dir, "kube/config"), Context: "test", Namespace: "shop"}); !reflect.DeepEqual(got["k8s"].Kubernetes, want) {
		t.Errorf("k8s: %+v, want %+v", got["k8s"].Kubernetes, want)
	}
	if want := (&Kubernetes{Kubeconfig: "/home/u/.kube/config"}); !reflect.DeepEqual(got["defaulted"].Kubernetes, want) {
		t.Errorf("defaulted: %+v, want %+v (kubectl's default)", got["defaulted"].Kubernetes, want)
	}
	if got["plain"].Kubernetes != nil {
		t.Errorf("plain: %+v, want no cluster", got["plain"].Kubernetes)
	}
	// $KUBECONFIG is kubectl's next default; a list stays a list.
	got, err = LoadTargets(path, LoadOptions{LookupEnv: env("KUBECONFIG", "/a:/b", "CTX", "prod"), ProjectName: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if k := got["defaulted"].Kubernetes; k.Kubeconfig != "/a:/b" {
		t.Errorf("KUBECONFIG: %+v", k)
	}
	if k := got["k8s"].Kubernetes; k.Context != "prod" {
		t.Errorf("context from the environment: %+v", k)
	}
}

func TestLoadTargetsKubernetesErrors(t *testing.T) {
	for _, tc := range []struct{ name, old, new, want string }{
		{"unknown", "      namespace: shop", "      namespace: shop\n      cluster: x", `berth.yaml:9:7: environments.k8s.kubernetes: unknown field "cluster" (fields: context, kubeconfig, namespace)`},
		{"namespace", "namespace: shop", "namespace: Shop_1", `berth.yaml:8:18: environments.k8s.kubernetes.namespace: "Shop_1" is not a valid namespace`},
		{"list", "context: ${CTX:-test}", "context: [a]", `berth.yaml:7:16: environments.k8s.kubernetes.context: expected a string`},
		{"empty", "kubeconfig: kube/config", `kubeconfig: ""`, `environments.k8s.kubernetes.kubeconfig: empty path`},
		{"unset", "context: ${CTX:-test}", "context: ${NOPE}", `environments.k8s.kubernetes.context: variable "NOPE" is not set`},
		{"mapping", "    kubernetes: {}", "    kubernetes: prod", `berth.yaml:10:17: environments.defaulted.kubernetes: expected a mapping`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := strings.Replace(kubeYAML, tc.old, tc.new, 1)
			if y == kubeYAML {
				t.Fatalf("replacement %q not found", tc.old)
			}
			dir := write(t, map[string]string{"berth.yaml": y})
			_, err := LoadTargets(filepath.Join(dir, "berth.yaml"), LoadOptions{LookupEnv: env(), ProjectName: "p"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v\n  does not contain %q", err, tc.want)
			}
		})
	}
}
