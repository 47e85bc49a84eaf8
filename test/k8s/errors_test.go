package k8s

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDeployErrorsOnCluster: berth deploy -E against a real API server
// fails clearly, naming the object, and leaves nothing half-applied: a
// namespace that does not exist (nothing applied); a user whose RBAC
// role may not touch Deployments (403 naming the Deployment; the
// ConfigMaps and Services applied before it are deleted again); an image the registry does not
// have (the pods' ErrImagePull/ImagePullBackOff named; the first deploy's
// objects deleted).
func TestDeployErrorsOnCluster(t *testing.T) {
	c := need(t)
	ns := c.Namespace(t, "errs")
	probe := c.ProbeImage(t)
	dir := t.TempDir()

	// A service account that may manage ConfigMaps and Services only.
	c.KubectlApply(t, ns, `
apiVersion: v1
kind: ServiceAccount
metadata: {name: limited}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: limited}
rules:
  - apiGroups: [""]
    resources: [configmaps, services, pods]
    verbs: [get, list, watch, create, update, patch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: limited}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: limited}
subjects: [{kind: ServiceAccount, name: limited}]
`)
	token := strings.TrimSpace(c.Kubectl(t, "create", "token", "limited", "-n", ns))
	server := strings.TrimSpace(c.Kubectl(t, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"))
	limited := filepath.Join(dir, "limited.kubeconfig")
	if err := os.WriteFile(limited, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q, insecure-skip-tls-verify: true}}]
users: [{name: limited, user: {token: %q}}]
contexts: [{name: limited, context: {cluster: c, user: limited, namespace: %s}}]
current-context: limited
`, server, token, ns)), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := c.Registry + "/test/missing@sha256:" + strings.Repeat("0", 64)
	file := filepath.Join(dir, "berth.yaml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(`services:
  web:
    image: ${IMAGE}
    command: [serve]
    ports: ["8080"]
    healthcheck: {disable: true}
environments:
  k8s:
    kubernetes: {kubeconfig: %[1]q, namespace: %[2]s}
  nons:
    kubernetes: {kubeconfig: %[1]q, namespace: nope-%[2]s}
  limited:
    kubernetes: {kubeconfig: %[3]q}
`, c.Kubeconfig, ns, limited)), 0o644); err != nil {
		t.Fatal(err)
	}
	deploy := func(env, image string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, c.Berth, "deploy", "-E", env, "-p", "errs", "--set", "IMAGE="+image, "--timeout", "60s")
		cmd.Dir = dir
		cmd.Env = c.Env()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		t.Logf("berth deploy -E %s (%s):\n%s", env, image, out.String())
		return out.String(), err
	}
	objects := func() string {
		return strings.TrimSpace(c.Kubectl(t, "get", "deployments,services,configmaps", "-n", ns, "-l", "berth.dev/stack=errs,berth.dev/history!=true", "-o", "name"))
	}

	out, err := deploy("nons", probe)
	if err == nil || !strings.Contains(out, `namespace "nope-`+ns+`" does not exist`) || !strings.Contains(out, "environments.nons.kubernetes.namespace") {
		t.Errorf("missing namespace: %v", err)
	}

	out, err = deploy("limited", probe)
	if err == nil || !strings.Contains(out, "Deployment "+ns+"/web: forbidden by the cluster's RBAC") {
		t.Errorf("RBAC: %v", err)
	}
	if o := objects(); o != "" {
		t.Errorf("after the forbidden apply: %s left, want nothing", o)
	}

	start := time.Now()
	out, err = deploy("k8s", missing)
	if err == nil || !strings.Contains(out, "pod web-") || !(strings.Contains(out, "ErrImagePull") || strings.Contains(out, "ImagePullBackOff")) {
		t.Errorf("missing image: %v", err)
	}
	t.Logf("missing image reported in %s", time.Since(start).Round(10*time.Millisecond))
	if o := objects(); o != "" {
		t.Errorf("after the failed first deploy: %s left, want nothing", o)
	}
}
