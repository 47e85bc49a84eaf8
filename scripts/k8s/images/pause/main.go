// Command pause is the Kubernetes test cluster's sandbox ("pause")
// container: it holds a pod's namespaces and does nothing until it is told
// to stop. scripts/k8s-cluster.sh builds it into an image with `berth build`
// (a go: layer, from scratch) and pushes it to berth's registry; containerd
// starts it for every pod.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
