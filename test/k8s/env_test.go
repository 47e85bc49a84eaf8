package k8s

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClusterFromEnv checks how the tests read `scripts/k8s-cluster.sh env`
// (no cluster needed): every line KEY=VALUE, the required keys named when
// missing, kubectl looked up in BERTH_K8S_BIN.
func TestClusterFromEnv(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "kubectl"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	vars, err := parseEnv("KUBECONFIG=/k/admin.kubeconfig\nBERTH_K8S_KUBECONFIG=/k/admin.kubeconfig\n" +
		"BERTH_K8S_REGISTRY=127.0.0.1:5055\nBERTH_K8S_NODE_IP=192.0.2.2\nBERTH_K8S_BIN=" + bin + "\n\n")
	if err != nil {
		t.Fatal(err)
	}
	c, err := clusterFromEnv(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Kubeconfig != "/k/admin.kubeconfig" || c.Registry != "127.0.0.1:5055" || c.NodeIP != "192.0.2.2" || c.Domain != "cluster.local" {
		t.Errorf("cluster = %+v", c)
	}

	if _, err := parseEnv("KUBECONFIG=/k\nnot a pair\n"); err == nil || !strings.Contains(err.Error(), `"not a pair"`) {
		t.Errorf("a line without = gave %v, want an error naming it", err)
	}
	delete(vars, "BERTH_K8S_REGISTRY")
	if _, err := clusterFromEnv(func(k string) string { return vars[k] }); err == nil || !strings.Contains(err.Error(), "BERTH_K8S_REGISTRY") {
		t.Errorf("missing registry gave %v, want an error naming BERTH_K8S_REGISTRY", err)
	}
	vars["BERTH_K8S_REGISTRY"] = "127.0.0.1:5055"
	vars["BERTH_K8S_BIN"] = t.TempDir()
	if _, err := clusterFromEnv(func(k string) string { return vars[k] }); err == nil || !strings.Contains(err.Error(), "no kubectl") {
		t.Errorf("a bin dir without kubectl gave %v", err)
	}
}
