package k8s

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/internal/kube"
	"github.com/berth-dev/berth/internal/stack"
)

// resources are the API resources of the kinds berth's translation emits.
var resources = map[string]schema.GroupVersionResource{
	"ConfigMap":             {Version: "v1", Resource: "configmaps"},
	"Secret":                {Version: "v1", Resource: "secrets"},
	"PersistentVolumeClaim": {Version: "v1", Resource: "persistentvolumeclaims"},
	"Service":               {Version: "v1", Resource: "services"},
	"Deployment":            {Group: "apps", Version: "v1", Resource: "deployments"},
	"Ingress":               {Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
}

// translateAllFields translates testdata/allfields (every compose field
// berth maps) for namespace ns, with the secrets' values, as berth deploy
// -E does.
func translateAllFields(t *testing.T, ns string, o kube.Options) kube.Result {
	t.Helper()
	dir := filepath.Join("testdata", "allfields")
	st, _, err := stack.Load(context.Background(), stack.LoadOptions{
		Files: []string{filepath.Join(dir, "compose.yaml")},
		LookupEnv: func(k string) (string, bool) {
			return map[string]string{"MIME_TYPES": "text/html html"}[k], k == "MIME_TYPES"
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	o.Namespace, o.ReadFile, o.SecretValues = ns, os.ReadFile, true
	r, err := kube.TranslateStack(st, nil, "", o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAllFieldsTranslate holds the stack below to translating (no
// cluster needed): every kind berth emits is in it.
func TestAllFieldsTranslate(t *testing.T) {
	r := translateAllFields(t, "shop", kube.Options{})
	kinds := map[string]int{}
	for _, o := range r.Objects {
		kinds[o.GetObjectKind().GroupVersionKind().Kind]++
	}
	for k := range resources {
		if kinds[k] == 0 {
			t.Errorf("no %s in the translation of testdata/allfields: %v", k, kinds)
		}
	}
}

// TestEveryObjectPassesServerSideValidation: the translation of a stack
// that uses every compose field berth maps (testdata/allfields), with
// NodePort and with LoadBalancer Services, is accepted by the real API
// server: each object server-side applied as field manager berth with
// dryRun All (the API server's validation and admission, nothing
// stored), 0 errors.
func TestEveryObjectPassesServerSideValidation(t *testing.T) {
	c := need(t)
	ns := c.Namespace(t, "validate")
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, failed := 0, 0
	for _, publish := range []string{"NodePort", "LoadBalancer"} {
		o := kube.Options{PublishType: publish}
		if publish == "LoadBalancer" {
			// With values, as berth deploy applies them: the secrets' data
			// and the registry credentials' image pull Secret.
			o.SecretValues, o.ReadFile = true, os.ReadFile
			o.PullAuth = map[string]kube.RegistryAuth{"127.0.0.1:5000": {Username: "ci", Password: "s3cret"}}
		}
		r := translateAllFields(t, ns, o)
		for _, o := range r.Objects {
			kind := o.GetObjectKind().GroupVersionKind().Kind
			gvr, ok := resources[kind]
			if !ok {
				t.Errorf("%s %s: a kind this test does not know", kind, o.GetName())
				continue
			}
			body, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			n++
			_, err = dyn.Resource(gvr).Namespace(ns).Patch(ctx, o.GetName(), types.ApplyPatchType, body,
				metav1.PatchOptions{FieldManager: kube.FieldManager, DryRun: []string{metav1.DryRunAll}})
			if err != nil {
				failed++
				t.Errorf("%s: server-side dry-run of %s %s: %v\n%s", publish, kind, o.GetName(), err, body)
			}
		}
	}
	t.Logf("%d objects server-side applied with dryRun All: %d rejected", n, failed)
	// Nothing was stored.
	if out := c.Kubectl(t, "get", "deployments,services,configmaps,secrets,pvc,ingress", "-n", ns, "-l", "berth.dev/stack=shop", "-o", "name"); out != "" {
		t.Errorf("the dry run stored objects: %s", out)
	}
}
