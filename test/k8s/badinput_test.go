package k8s

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// badStack writes a stack of the probe image: web (a config conf whose
// content is CONF) and, with extra, a second service extra with a named
// volume; image is web's image.
func badStack(t *testing.T, dir, webImage, probe, conf string, extra bool) {
	t.Helper()
	y := fmt.Sprintf(`services:
  web:
    image: %q
    command: [serve]
    configs: [{source: conf, target: /etc/conf.txt}]
    healthcheck: {test: [CMD, /probe, get, "http://127.0.0.1:8080/"], interval: 1s, timeout: 2s, retries: 3}
    restart: always
`, webImage)
	if extra {
		// extra's volume: a claim the failed deploy creates, and must
		// delete again.
		y += fmt.Sprintf("  extra:\n    image: %q\n    command: [serve]\n    restart: always\n    volumes: [\"scratch:/scratch\"]\nvolumes:\n  scratch: {}\n", probe)
	}
	y += fmt.Sprintf("configs:\n  conf: {content: %q}\n", conf)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "berth.yaml"), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newBadStack makes a stack directory "bad" (stack name) for the tests
// below, deployed through kubeconfig.
func newBadStack(t *testing.T, c *Cluster, nsPrefix, kubeconfig string, extra bool, conf string) (*stackDir, string) {
	t.Helper()
	probe := c.ProbeImage(t)
	src := filepath.Join(t.TempDir(), "bad")
	badStack(t, src, probe, probe, conf, extra)
	return newStackDir(t, c, src, nsPrefix, kubeconfig), probe
}

// rewrite replaces the stack's berth.yaml (keeping the environment).
func (s *stackDir) rewrite(webImage, probe, conf string, extra bool) {
	s.t.Helper()
	file := filepath.Join(s.dir, "berth.yaml")
	raw, err := os.ReadFile(file)
	if err != nil {
		s.t.Fatal(err)
	}
	_, env, _ := strings.Cut(string(raw), "\nenvironments:\n")
	badStack(s.t, s.dir, webImage, probe, conf, extra)
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("\nenvironments:\n" + env); err != nil {
		s.t.Fatal(err)
	}
}

// objects lists the stack's objects of the kinds berth applies, as the
// admin sees them: kind/name → what they hold (data and spec; "deleting"
// when being deleted).
func (s *stackDir) objects() map[string]string {
	s.t.Helper()
	out := s.c.Kubectl(s.t, "get", "deployments,services,configmaps,secrets,pvc,ingress", "-n", s.ns,
		"-l", "app.kubernetes.io/managed-by=berth,berth.dev/history!=true", "-o", "json")
	var list struct {
		Items []struct {
			Kind     string
			Metadata struct {
				Name              string
				DeletionTimestamp *string
			}
			Data, BinaryData, Spec json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		s.t.Fatal(err)
	}
	m := map[string]string{}
	for _, it := range list.Items {
		sum := sha256.Sum256(append(append(append([]byte{}, it.Data...), it.BinaryData...), it.Spec...))
		v := hex.EncodeToString(sum[:6])
		if it.Metadata.DeletionTimestamp != nil {
			v += " deleting"
		}
		m[it.Kind+"/"+it.Metadata.Name] = v
	}
	return m
}

// sameObjects fails the test when the stack's objects differ from before
// (an object more or less, or one holding something else).
func sameObjects(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for k, v := range after {
		if b, ok := before[k]; !ok {
			t.Errorf("%s: %s (%s) is new: the failed deploy left it", what, k, v)
		} else if b != v {
			t.Errorf("%s: %s changed (%s → %s)", what, k, b, v)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			t.Errorf("%s: %s is gone", what, k)
		}
	}
}

// limitedKubeconfig writes a kubeconfig for the admin's cluster whose user
// is ServiceAccount sa of namespace ns (a token from the TokenRequest API),
// so the cluster's RBAC decides what it may do.
func limitedKubeconfig(t *testing.T, c *Cluster, ns, sa string) string {
	t.Helper()
	c.Kubectl(t, "create", "serviceaccount", sa, "-n", ns)
	token := strings.TrimSpace(c.Kubectl(t, "create", "token", sa, "-n", ns, "--duration=1h"))
	var cfg map[string]any
	if err := json.Unmarshal([]byte(c.Kubectl(t, "config", "view", "--raw", "--minify", "--flatten", "-o", "json")), &cfg); err != nil {
		t.Fatal(err)
	}
	users := cfg["users"].([]any)
	users[0].(map[string]any)["user"] = map[string]any{"token": token}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), sa+".kubeconfig")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestBadInputOnKubernetes: the errors a deploy to a real cluster meets
// are one clear message naming the object, and a failed deploy leaves
// nothing of itself: the API server unreachable (a kubeconfig pointing at
// a closed port); the namespace missing; RBAC forbidding a kind (a
// ServiceAccount may change ConfigMaps and Services but not Deployments:
// the ConfigMap it changed is back as it was, the Service it created is
// gone); an image not in the registry (the rollout fails on the pod's
// ErrImagePull, berth rolls back: the error names the Deployment, the pod
// and the image; the new service's objects are deleted, the previous ones
// are as they were and serve).
func TestBadInputOnKubernetes(t *testing.T) {
	c := need(t)

	t.Run("unreachable", func(t *testing.T) {
		var cfg map[string]any
		if err := json.Unmarshal([]byte(c.Kubectl(t, "config", "view", "--raw", "--minify", "--flatten", "-o", "json")), &cfg); err != nil {
			t.Fatal(err)
		}
		cl := cfg["clusters"].([]any)[0].(map[string]any)["cluster"].(map[string]any)
		cl["server"] = "https://127.0.0.1:1" // nothing listens on port 1
		b, _ := json.Marshal(cfg)
		kc := filepath.Join(t.TempDir(), "closed.kubeconfig")
		if err := os.WriteFile(kc, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, _ := newBadStack(t, c, "unreach", kc, false, "v1")
		out, errOut, err := s.berth("deploy", "-E", "k8s")
		t.Logf("deploy to a closed port: %v\n%s%s", err, errOut, out)
		if err == nil || !strings.Contains(errOut, "https://127.0.0.1:1") || !strings.Contains(errOut, "does not answer") {
			t.Errorf("deploy with the API server unreachable: %v, stderr %q; want an error naming https://127.0.0.1:1", err, errOut)
		}
		if objs := s.objects(); len(objs) != 0 {
			t.Errorf("objects %v", objs)
		}
	})

	t.Run("namespace missing", func(t *testing.T) {
		s, _ := newBadStack(t, c, "nons", c.Kubeconfig, false, "v1")
		s.vars = append(s.vars, "--set", "K8S_NS=no-such-namespace")
		out, errOut, err := s.berth("deploy", "-E", "k8s")
		t.Logf("deploy to a missing namespace: %v\n%s%s", err, errOut, out)
		if err == nil || !strings.Contains(errOut, `namespace "no-such-namespace" does not exist`) || !strings.Contains(errOut, "environments.k8s.kubernetes.namespace") {
			t.Errorf("deploy to a missing namespace: %v, stderr %q", err, errOut)
		}
		if _, err := c.KubectlErr("get", "namespace", "no-such-namespace"); err == nil {
			t.Errorf("the namespace was created")
		}
	})

	t.Run("rbac forbidden", func(t *testing.T) {
		s, probe := newBadStack(t, c, "rbac", c.Kubeconfig, false, "v1")
		s.must("deploy", "-E", "k8s")
		before := s.objects()

		// No rights at all: the first read is refused.
		none := limitedKubeconfig(t, c, s.ns, "norights")
		s.vars = append(s.vars, "--set", "K8S_KUBECONFIG="+none)
		s.rewrite(probe, probe, "v2", true)
		out, errOut, err := s.berth("deploy", "-E", "k8s")
		t.Logf("deploy as a user without rights: %v\n%s%s", err, errOut, out)
		if err == nil || !strings.Contains(errOut, "forbidden") || !strings.Contains(errOut, "system:serviceaccount:"+s.ns+":norights") {
			t.Errorf("deploy without rights: %v, stderr %q; want forbidden naming the user", err, errOut)
		}
		sameObjects(t, "after the deploy without rights", before, s.objects())

		// ConfigMaps and Services but no Deployments: the apply gets as far
		// as the first Deployment, and what it did before is undone.
		limited := limitedKubeconfig(t, c, s.ns, "nodeploy")
		c.Kubectl(t, "create", "role", "nodeploy", "-n", s.ns, "--verb=get,list,watch,create,update,patch,delete",
			"--resource=configmaps,services,secrets,persistentvolumeclaims,pods")
		c.Kubectl(t, "create", "rolebinding", "nodeploy", "-n", s.ns, "--role=nodeploy", "--serviceaccount="+s.ns+":nodeploy")
		s.vars = append(s.vars, "--set", "K8S_KUBECONFIG="+limited)
		out, errOut, err = s.berth("deploy", "-E", "k8s")
		t.Logf("deploy as a user who may not touch Deployments: %v\n%s%s", err, errOut, out)
		if err == nil || !strings.Contains(errOut, "Deployment "+s.ns+"/extra") || !strings.Contains(errOut, "forbidden") {
			t.Errorf("deploy without Deployment rights: %v, stderr %q; want forbidden naming Deployment %s/extra", err, errOut, s.ns)
		}
		// The ConfigMap is back to v1, the new Service and claim are
		// deleted (the claim once the controller drops its finalizer).
		Eventually(t, "the new objects to be gone", 30*time.Second, func() (bool, string) {
			after := s.objects()
			return len(after) == len(before), fmt.Sprint(after)
		})
		sameObjects(t, "after the forbidden deploy", before, s.objects())
		if got := c.Jsonpath(t, s.ns, "configmap/conf", "{.data.conf}"); got != "v1" {
			t.Errorf("configmap conf holds %q, want v1 again", got)
		}
	})

	t.Run("image not in the registry", func(t *testing.T) {
		s, probe := newBadStack(t, c, "noimage", c.Kubeconfig, false, "v1")
		s.must("deploy", "-E", "k8s")
		before := s.objects()
		tmpl := c.Jsonpath(t, s.ns, "deployment/web", "{.spec.template.metadata.annotations.berth\\.dev/config-hash}")

		missing := c.Registry + "/test/no-such-image:1"
		s.rewrite(missing, probe, "v2", true)
		out, errOut, err := s.berth("deploy", "-E", "k8s", "--timeout", "90s")
		t.Logf("deploy of an image not in the registry: %v\n%s%s", err, errOut, out)
		if err == nil {
			t.Fatal("deploy of a missing image succeeded")
		}
		for _, want := range []string{"Deployment " + s.ns + "/web", "pod web-", missing, "rolled back"} {
			if !strings.Contains(errOut+out, want) {
				t.Errorf("the deploy's output does not name %q", want)
			}
		}
		Eventually(t, "the new service's objects to be gone", 30*time.Second, func() (bool, string) {
			after := s.objects()
			return len(after) == len(before), fmt.Sprint(after)
		})
		sameObjects(t, "after the rollback", before, s.objects())
		if got := c.Jsonpath(t, s.ns, "deployment/web", "{.spec.template.metadata.annotations.berth\\.dev/config-hash}"); got != tmpl {
			t.Errorf("web's template is %s, want the previous %s", got, tmpl)
		}
		if img := c.Jsonpath(t, s.ns, "deployment/web", "{.spec.template.spec.containers[0].image}"); img != probe {
			t.Errorf("web runs %s, want %s again", img, probe)
		}
		if ready := s.readyPods("web"); len(ready) != 1 {
			t.Errorf("web's ready pods %v, want 1", ready)
		}
	})

	t.Run("first deploy of a missing image", func(t *testing.T) {
		s, probe := newBadStack(t, c, "noimage1", c.Kubeconfig, false, "v1")
		missing := c.Registry + "/test/no-such-image:1"
		s.rewrite(missing, probe, "v1", true)
		out, errOut, err := s.berth("deploy", "-E", "k8s", "--timeout", "90s")
		t.Logf("first deploy of a missing image: %v\n%s%s", err, errOut, out)
		if err == nil {
			t.Fatal("deploy of a missing image succeeded")
		}
		if !strings.Contains(errOut+out, missing) || !strings.Contains(errOut+out, "deleting the new objects") {
			t.Errorf("the deploy's output does not name the image %s and the deletion of what it created", missing)
		}
		Eventually(t, "every object of the failed first deploy to be gone", 30*time.Second, func() (bool, string) {
			objs := s.objects()
			return len(objs) == 0, fmt.Sprint(objs)
		})
	})
}
