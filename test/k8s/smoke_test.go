package k8s

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestClusterSmoke proves the harness gives the acceptance tests a real
// cluster: a berth-built image pulled from berth's registry runs as a
// Deployment (the pods' imageID is the pushed digest); a pod reaches
// another Service by its short and its full name through CoreDNS; a PVC
// binds to the default StorageClass and a non-root pod writes to it (the
// file lands in the PersistentVolume's directory on the node); the host
// reaches the Deployment through a NodePort Service.
func TestClusterSmoke(t *testing.T) {
	c := need(t)
	ns := c.Namespace(t, "smoke")
	ref := c.ProbeImage(t)

	start := time.Now()
	c.KubectlApply(t, ns, fmt.Sprintf(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: %[1]q
          args: [serve]
          env: [{name: MESSAGE, value: hello-from-web}]
          ports: [{containerPort: 8080}]
          readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-published}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  securityContext: {runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true}
  containers:
    - name: client
      image: %[1]q
      args: [serve]
      volumeMounts: [{name: data, mountPath: /data}]
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
`, ref))

	c.Kubectl(t, "rollout", "status", "-n", ns, "deploy/web", "--timeout=120s")
	c.Kubectl(t, "wait", "-n", ns, "--for=condition=Ready", "pod/client", "--timeout=120s")
	t.Logf("Deployment web (2 replicas) and pod client Ready %s after apply", time.Since(start).Round(10*time.Millisecond))

	// The berth-built image runs, by the digest berth pushed.
	digest := ref[strings.LastIndex(ref, "@")+1:]
	ids := c.Kubectl(t, "get", "pods", "-n", ns, "-l", "app=web", "-o", "jsonpath={range .items[*]}{.status.containerStatuses[0].imageID}{\"\\n\"}{end}")
	for _, id := range strings.Fields(ids) {
		if !strings.HasSuffix(id, "@"+digest) {
			t.Errorf("web pod runs imageID %s, want the pushed %s", id, digest)
		}
	}
	if n := len(strings.Fields(ids)); n != 2 {
		t.Errorf("%d web pods, want 2: %q", n, ids)
	}

	// From the host: the NodePort on the node's address, as the acceptance
	// tests reach a published service. kube-proxy programs a Service's rules
	// within about a second of its endpoints becoming ready: poll.
	nodePort := c.Jsonpath(t, ns, "service/web-published", "{.spec.ports[0].nodePort}")
	url := "http://" + net.JoinHostPort(c.NodeIP, nodePort) + "/"
	Eventually(t, "GET "+url+" from the host", 15*time.Second, func() (bool, string) {
		body, err := HTTPGet(url)
		return err == nil && strings.HasPrefix(body, "hello-from-web web-"), fmt.Sprintf("%q, %v", body, err)
	})

	// Cluster DNS: the short name (the pod's search path), the full name,
	// and the address is the Service's ClusterIP.
	clusterIP := c.Jsonpath(t, ns, "service/web", "{.spec.clusterIP}")
	full := "web." + ns + ".svc." + c.Domain
	for _, name := range []string{"web", full} {
		out, err := c.Exec(ns, "client", "/probe", "lookup", name)
		if err != nil {
			t.Fatalf("lookup %s in pod client: %v", name, err)
		}
		if strings.TrimSpace(out) != clusterIP {
			t.Errorf("lookup %s = %q, want the ClusterIP %s", name, out, clusterIP)
		}
		Eventually(t, "GET http://"+name+"/ from pod client", 15*time.Second, func() (bool, string) {
			body, err := c.Exec(ns, "client", "/probe", "get", "http://"+name+"/")
			return err == nil && strings.HasPrefix(body, "hello-from-web web-"), fmt.Sprintf("%q, %v", body, err)
		})
	}
	// A name that does not exist does not resolve (CoreDNS answers, it is
	// not a catch-all).
	if out, err := c.Exec(ns, "client", "/probe", "lookup", "nosuchservice."+ns+".svc."+c.Domain); err == nil {
		t.Errorf("lookup of a missing Service succeeded: %q", out)
	}

	// Storage: the claim is bound to a volume of the default class, and what
	// the non-root pod writes is in that volume's directory on the node.
	if phase := c.Jsonpath(t, ns, "pvc/data", "{.status.phase}"); phase != "Bound" {
		t.Fatalf("pvc/data is %q, want Bound", phase)
	}
	if sc := c.Jsonpath(t, ns, "pvc/data", "{.spec.storageClassName}"); sc != c.StorageClass {
		t.Errorf("pvc/data has StorageClass %q, want the default %q", sc, c.StorageClass)
	}
	if out, err := c.Exec(ns, "client", "/probe", "write", "/data/hello.txt", "written by a non-root pod"); err != nil || out != "written by a non-root pod" {
		t.Fatalf("write to the PVC from pod client: %q, %v", out, err)
	}
	pv := c.Jsonpath(t, ns, "pvc/data", "{.spec.volumeName}")
	dir := c.Jsonpath(t, "", "pv/"+pv, "{.spec.hostPath.path}")
	got, err := os.ReadFile(filepath.Join(dir, "hello.txt"))
	if err != nil || string(got) != "written by a non-root pod" {
		t.Errorf("the file in PersistentVolume %s (%s): %q, %v", pv, dir, got, err)
	}
}
