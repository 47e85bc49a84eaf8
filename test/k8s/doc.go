// Package k8s tests berth against a real single-node Kubernetes: the
// cluster scripts/k8s-cluster.sh brings up on this machine (kube-apiserver,
// kubelet, containerd, runc — pods really run), pulling berth-built images
// from berth's own registry, with CoreDNS as cluster DNS and a default
// StorageClass whose PVCs bind.
//
// The tests run only when asked: `make test-k8s` (BERTH_K8S=1), which builds
// the cluster's binaries once (cached in /var/cache/berth-k8s/VERSION), or
// with BERTH_K8S_KUBECONFIG pointing at a cluster the caller brought up
// (`scripts/k8s-cluster.sh up; eval "$(scripts/k8s-cluster.sh env)"`).
// Otherwise they skip, so `go test ./...` stays fast.
//
// TestMain holds /tmp/berth-k8s.lock from up to down (one cluster per
// host), brings the cluster down at the end, and removes a cluster an
// interrupted run left behind before starting its own.
package k8s
