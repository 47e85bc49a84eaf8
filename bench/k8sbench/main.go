// Command k8sbench measures berth on Kubernetes against kubectl on a
// running test cluster (scripts/k8s-cluster.sh; bench/k8s.sh runs it
// under the host's cluster lock):
//
//   - deploy: `berth deploy -E k8s` of a stack (N services × R replicas of
//     test/k8s's probe image, built and pushed by berth) until every pod is
//     Ready, vs `kubectl apply -f DIR` + `kubectl rollout status` of each
//     Deployment on the same manifests (`berth export --kubernetes` of the
//     same stack), each into a fresh namespace, alternating which goes
//     first, same run; the ratio of the medians.
//   - rollback decision: a deploy whose image is not in the registry; a
//     watch of the API records when a new pod's ErrImagePull /
//     ImagePullBackOff becomes visible and when the Deployment's template
//     is the previous one again (berth's rollback applied): the difference.
//
// Usage: eval "$(scripts/k8s-cluster.sh env)"; go run ./bench/k8sbench [-rounds 5]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

type bench struct {
	berth, kubectl, kubeconfig, registry, dir, probe string
	services, replicas                               int
	cs                                               kubernetes.Interface
}

func main() {
	rounds := flag.Int("rounds", 5, "deploy rounds per tool")
	services := flag.Int("services", 3, "services in the stack")
	replicas := flag.Int("replicas", 2, "replicas per service")
	rollbacks := flag.Int("rollbacks", 3, "failed deploys to time the rollback decision of")
	berthBin := flag.String("berth", "", "berth binary (default: go build ./cmd/berth)")
	flag.Parse()
	if err := run(*rounds, *services, *replicas, *rollbacks, *berthBin); err != nil {
		fmt.Fprintln(os.Stderr, "k8sbench:", err)
		os.Exit(1)
	}
}

func run(rounds, services, replicas, rollbacks int, berthBin string) error {
	kc, reg, bin := os.Getenv("BERTH_K8S_KUBECONFIG"), os.Getenv("BERTH_K8S_REGISTRY"), os.Getenv("BERTH_K8S_BIN")
	if kc == "" || reg == "" || bin == "" {
		return fmt.Errorf(`BERTH_K8S_KUBECONFIG, BERTH_K8S_REGISTRY and BERTH_K8S_BIN are unset: eval "$(scripts/k8s-cluster.sh env)"`)
	}
	work, err := os.MkdirTemp("", "k8sbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if berthBin == "" {
		berthBin = filepath.Join(work, "berth")
		if out, err := exec.Command("go", "build", "-o", berthBin, "./cmd/berth").CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/berth: %v\n%s", err, out)
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	b := &bench{berth: berthBin, kubectl: filepath.Join(bin, "kubectl"), kubeconfig: kc, registry: reg, dir: work, services: services, replicas: replicas, cs: cs}
	out, err := b.cmd("", b.berth, "build", "-q", "-f", "test/k8s/testdata/probe/berth.yaml", "probe", "--push", reg+"/bench/probe:1")
	if err != nil {
		return err
	}
	b.probe = reg + "/bench/probe@" + strings.TrimSpace(out)
	if err := b.writeStack(b.probe); err != nil {
		return err
	}
	fmt.Printf("k8sbench: %d services × %d replicas of %s, %d rounds, kubectl %s\n", services, replicas, b.probe, rounds, b.kubectl)

	var berthT, kubectlT []time.Duration
	for i := range rounds {
		order := []string{"berth", "kubectl"}
		if i%2 == 1 {
			order = []string{"kubectl", "berth"}
		}
		for _, tool := range order {
			d, err := b.deployRound(tool, i)
			if err != nil {
				return err
			}
			fmt.Printf("round %d %-7s %s\n", i, tool, d.Round(time.Millisecond))
			if tool == "berth" {
				berthT = append(berthT, d)
			} else {
				kubectlT = append(kubectlT, d)
			}
		}
	}
	if mb, mk := median(berthT), median(kubectlT); mk > 0 {
		fmt.Printf("deploy to all pods Ready: berth median %s, kubectl apply + rollout status median %s: ratio %.3f (target ≤ 1.10)\n",
			mb.Round(time.Millisecond), mk.Round(time.Millisecond), float64(mb)/float64(mk))
	}

	var decisions []time.Duration
	for i := range rollbacks {
		d, own, err := b.rollbackRound(i)
		if err != nil {
			return err
		}
		fmt.Printf("rollback %d: failure visible in the API → previous template applied: %s (berth's own: %s)\n", i, d.Round(time.Millisecond), own)
		decisions = append(decisions, d)
	}
	if len(decisions) > 0 {
		fmt.Printf("rollback decision after the failure is visible in the API: median %s, max %s (target ≤ 2s)\n",
			median(decisions).Round(time.Millisecond), slices.Max(decisions).Round(time.Millisecond))
	}
	return nil
}

// writeStack writes the stack: services s0.. of image, no ports (headless
// Services), a health check, monitor 1s.
func (b *bench) writeStack(image string) error {
	var y strings.Builder
	y.WriteString("services:\n")
	for i := range b.services {
		fmt.Fprintf(&y, `  s%d:
    image: %q
    command: [serve]
    environment: {MESSAGE: "${MESSAGE:-1}"}
    healthcheck: {test: [CMD, /probe, get, "http://127.0.0.1:8080/"], interval: 1s, timeout: 2s, retries: 3}
    restart: always
    deploy:
      replicas: %d
      update_config: {monitor: 1s}
`, i, image, b.replicas)
	}
	y.WriteString("environments:\n  k8s:\n    kubernetes:\n      kubeconfig: ${KC}\n      namespace: ${NS}\n")
	return os.WriteFile(filepath.Join(b.dir, "berth.yaml"), []byte(y.String()), 0o644)
}

func (b *bench) cmd(dir, name string, args ...string) (string, error) {
	c := exec.Command(name, args...)
	c.Dir = dir
	c.Env = append(os.Environ(), "KUBECONFIG="+b.kubeconfig)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

func (b *bench) namespace(ns string) error {
	_, err := b.cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	return err
}

// dropNamespace deletes ns and waits until it is gone (its pods' teardown
// is not the next round's noise).
func (b *bench) dropNamespace(ns string) error {
	_, err := b.cmd("", b.kubectl, "delete", "namespace", ns, "--wait=true", "--timeout=120s")
	return err
}

// deployRound deploys the stack into a fresh namespace with tool and
// returns the time until every pod is Ready.
func (b *bench) deployRound(tool string, i int) (time.Duration, error) {
	ns := fmt.Sprintf("kb-%s-%d", tool, i)
	if err := b.namespace(ns); err != nil {
		return 0, err
	}
	vars := []string{"--set", "KC=" + b.kubeconfig, "--set", "NS=" + ns}
	var d time.Duration
	switch tool {
	case "berth":
		start := time.Now()
		if _, err := b.cmd(b.dir, b.berth, append([]string{"deploy", "-E", "k8s"}, vars...)...); err != nil {
			return 0, err
		}
		d = time.Since(start)
	default:
		manifests := filepath.Join(b.dir, ns)
		if _, err := b.cmd(b.dir, b.berth, append([]string{"export", "--kubernetes", "-E", "k8s", "-o", manifests}, vars...)...); err != nil {
			return 0, err
		}
		start := time.Now()
		if _, err := b.cmd("", b.kubectl, "apply", "-f", manifests); err != nil {
			return 0, err
		}
		for s := range b.services {
			if _, err := b.cmd("", b.kubectl, "rollout", "status", "-n", ns, fmt.Sprintf("deployment/s%d", s), "--timeout=120s"); err != nil {
				return 0, err
			}
		}
		d = time.Since(start)
	}
	if err := b.allReady(ns); err != nil {
		return 0, fmt.Errorf("%s: %w", tool, err)
	}
	return d, b.dropNamespace(ns)
}

// allReady checks every pod of the stack is Ready (what both tools waited
// for).
func (b *bench) allReady(ns string) error {
	pods, err := b.cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return err
	}
	ready := 0
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
				ready++
			}
		}
	}
	if want := b.services * b.replicas; ready != want {
		return fmt.Errorf("%d pods Ready in %s, want %d", ready, ns, want)
	}
	return nil
}

// rollbackRound deploys the stack, then the same with an image missing
// from the registry, and times berth's decision from the API's side: when
// the first new pod's image pull failure is visible, and when the first
// Deployment has its previous template again.
func (b *bench) rollbackRound(i int) (time.Duration, string, error) {
	ns := fmt.Sprintf("kb-rollback-%d", i)
	if err := b.namespace(ns); err != nil {
		return 0, "", err
	}
	defer b.dropNamespace(ns)
	vars := []string{"--set", "KC=" + b.kubeconfig, "--set", "NS=" + ns}
	if _, err := b.cmd(b.dir, b.berth, append([]string{"deploy", "-E", "k8s"}, vars...)...); err != nil {
		return 0, "", err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Every service gets the missing image: whichever fails first is the
	// failure, whichever Deployment gets its old template back first is
	// the rollback applied.
	list, err := b.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, "", err
	}
	oldHash := map[string]string{}
	for _, d := range list.Items {
		oldHash[d.Name] = d.Spec.Template.Annotations["berth.dev/config-hash"]
	}
	// resourceVersion 0: from the watch cache at once (a watch from "now"
	// or from the list's version waits for the cache to catch up, and on
	// this etcd times out: "Too large resource version").
	pods, err := b.cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return 0, "", err
	}
	deps, err := b.cs.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return 0, "", err
	}
	failed, back := make(chan time.Time, 1), make(chan time.Time, 1)
	var podDiag, depDiag atomic.Value
	podDiag.Store("no event")
	depDiag.Store("no event")
	go firstEvent(pods, failed, &podDiag, func(o any) bool {
		p, ok := o.(*corev1.Pod)
		if !ok || p.Annotations["berth.dev/config-hash"] == oldHash[p.Labels["berth.dev/service"]] {
			return false
		}
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
				return true
			}
		}
		return false
	})
	changed := map[string]bool{}
	go firstEvent(deps, back, &depDiag, func(o any) bool {
		d, ok := o.(*appsv1.Deployment)
		if !ok {
			return false
		}
		h := d.Spec.Template.Annotations["berth.dev/config-hash"]
		if h != oldHash[d.Name] {
			changed[d.Name] = true
		}
		return changed[d.Name] && h == oldHash[d.Name]
	})
	// The bad image, by tag (not in the registry), for every service.
	if err := b.writeStack(b.registry + "/bench/missing:1"); err != nil {
		return 0, "", err
	}
	defer b.writeStack(b.probe)
	out, derr := b.cmd(b.dir, b.berth, append([]string{"deploy", "-E", "k8s"}, vars...)...)
	if derr == nil {
		return 0, "", fmt.Errorf("the deploy of a missing image succeeded:\n%s", out)
	}
	own := "?"
	if _, after, ok := strings.Cut(derr.Error(), "(decided "); ok {
		own, _, _ = strings.Cut(after, " after")
	}
	var tf, tb time.Time
	select {
	case tf = <-failed:
	case <-time.After(10 * time.Second):
		return 0, "", fmt.Errorf("no pull failure seen in the API (pod watch: %v):\n%v", podDiag.Load(), derr)
	}
	select {
	case tb = <-back:
	case <-time.After(10 * time.Second):
		return 0, "", fmt.Errorf("no template went back (Deployment watch: %v):\n%v", depDiag.Load(), derr)
	}
	return tb.Sub(tf), own, nil
}

// firstEvent sends the time of the first event whose object matches.
// It counts the events it saw and says how the watch ended (diag).
func firstEvent(w watch.Interface, ch chan<- time.Time, diag *atomic.Value, match func(any) bool) {
	defer w.Stop()
	n := 0
	for ev := range w.ResultChan() {
		n++
		if ev.Type == watch.Error {
			diag.Store(fmt.Sprintf("%d events, then an error: %v", n, ev.Object))
			return
		}
		if match(ev.Object) {
			ch <- time.Now()
			return
		}
		diag.Store(fmt.Sprintf("%d events (%s %T) and no match", n, ev.Type, ev.Object))
	}
	diag.Store(fmt.Sprintf("%d events, then the watch closed", n))
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
