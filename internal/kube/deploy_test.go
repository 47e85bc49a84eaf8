package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/stack"
)

// podFate is what the simulated kubelet makes of a config hash's pods.
type podFate int

const (
	podReady podFate = iota
	podCrashLoop
	podNeverReady
)

// sim is a fake cluster: client-go's fake clientset (with server-side
// apply's field management) plus a tiny Deployment controller and kubelet
// that create each Deployment's pods and set its status, as fates says
// for each config hash.
type sim struct {
	cs    *fake.Clientset
	env   *Env
	mu    sync.Mutex
	fates map[string]podFate // config hash → fate (default ready)
	// apiMu makes the controller's status write (read, change, write the
	// whole object, as the fake's UpdateStatus does) atomic with applies.
	apiMu sync.Mutex
}

func newSim(t *testing.T) *sim {
	t.Helper()
	s := &sim{cs: fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}), fates: map[string]podFate{}}
	s.env = &Env{Cluster: NewClient(s.cs, "https://test:6443"), Namespace: "shop", Name: "k8s"}
	// The API server bumps a Deployment's generation when its spec
	// changes (the fake does not): the rollout waits for the controller
	// to observe it.
	apply := k8stesting.ObjectReaction(s.cs.Tracker())
	gvr := appsv1.SchemeGroupVersion.WithResource("deployments")
	s.cs.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s.apiMu.Lock()
		defer s.apiMu.Unlock()
		var before *appsv1.Deployment
		if o, err := s.cs.Tracker().Get(gvr, a.GetNamespace(), a.(k8stesting.PatchAction).GetName()); err == nil {
			before = o.(*appsv1.Deployment)
		}
		_, o, err := apply(a)
		if err != nil {
			return true, nil, err
		}
		d := o.(*appsv1.Deployment)
		if before == nil || !reflect.DeepEqual(before.Spec, d.Spec) {
			if before != nil {
				d.Generation = before.Generation + 1
			} else {
				d.Generation = 1
			}
			if err := s.cs.Tracker().Update(gvr, d, a.GetNamespace()); err != nil {
				return true, nil, err
			}
		}
		return true, d, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			s.step(ctx)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return s
}

func (s *sim) fate(hash string, f podFate) {
	s.mu.Lock()
	s.fates[hash] = f
	s.mu.Unlock()
}

func (s *sim) step(ctx context.Context) {
	deps, err := s.cs.AppsV1().Deployments("shop").List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, d := range deps.Items {
		hash := d.Spec.Template.Annotations[AnnotationConfigHash]
		s.mu.Lock()
		fate := s.fates[hash]
		s.mu.Unlock()
		want := replicas(&d)
		pods, _ := s.cs.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{LabelSelector: LabelService + "=" + d.Name})
		var fresh, old int32
		for _, p := range pods.Items {
			if p.Annotations[AnnotationConfigHash] == hash {
				fresh++
			} else if fate == podReady {
				_ = s.cs.CoreV1().Pods("shop").Delete(ctx, p.Name, metav1.DeleteOptions{})
			} else {
				old++
			}
		}
		for i := fresh; i < want; i++ {
			_, _ = s.cs.CoreV1().Pods("shop").Create(ctx, pod(&d, hash, int(i), fate), metav1.CreateOptions{})
		}
		st := appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: want + old, UpdatedReplicas: want}
		if fate == podReady {
			st.ReadyReplicas, st.AvailableReplicas, st.Replicas = want, want, want
		} else {
			st.ReadyReplicas, st.AvailableReplicas = old, old
		}
		if d.Status.ObservedGeneration != st.ObservedGeneration || d.Status.Replicas != st.Replicas || d.Status.UpdatedReplicas != st.UpdatedReplicas ||
			d.Status.AvailableReplicas != st.AvailableReplicas || d.Status.ReadyReplicas != st.ReadyReplicas {
			s.apiMu.Lock()
			if cur, err := s.cs.AppsV1().Deployments("shop").Get(ctx, d.Name, metav1.GetOptions{}); err == nil && cur.Generation == d.Generation {
				cur.Status = st
				_, _ = s.cs.AppsV1().Deployments("shop").UpdateStatus(ctx, cur, metav1.UpdateOptions{})
			}
			s.apiMu.Unlock()
		}
	}
}

func pod(d *appsv1.Deployment, hash string, i int, fate podFate) *corev1.Pod {
	c := d.Spec.Template.Spec.Containers[0]
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%s-%d", d.Name, hash[:6], i), Namespace: "shop",
			Labels: d.Spec.Template.Labels, Annotations: d.Spec.Template.Annotations},
		Spec: d.Spec.Template.Spec,
	}
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: "127.0.0.1:5000/shop/web@sha256:" + strings.Repeat("e", 64)}
	ready := corev1.ConditionFalse
	switch fate {
	case podReady:
		ready = corev1.ConditionTrue
		cs.State.Running = &corev1.ContainerStateRunning{}
	case podCrashLoop:
		cs.RestartCount = 1
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s restarting failed container"}
		cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}
	case podNeverReady:
		cs.State.Running = &corev1.ContainerStateRunning{}
	}
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{cs},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: ready}}}
	return p
}

// objects translates a stack of web (image v) and, optionally, worker.
func objects(t *testing.T, v string, worker bool) []Object {
	t.Helper()
	web := base()
	web.Env = map[string]string{"VERSION": v}
	svcs := []model.ServiceSpec{web}
	if worker {
		w := base()
		w.Name, w.Ports = "worker", nil
		w.Mounts = []model.Mount{{Type: "volume", Source: "shop_data", Target: "/data"}}
		svcs = append(svcs, w)
	}
	r, err := Translate(model.StackSpec{Name: "shop", Services: svcs}, Options{Namespace: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	return r.Objects
}

func hashOf(t *testing.T, objs []Object, name string) string {
	t.Helper()
	for _, o := range objs {
		if d, ok := o.(*appsv1.Deployment); ok && d.Name == name {
			return d.Spec.Template.Annotations[AnnotationConfigHash]
		}
	}
	t.Fatalf("no Deployment %s", name)
	return ""
}

func (s *sim) deployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	d, err := s.cs.AppsV1().Deployments("shop").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func quick() DeployOptions { return DeployOptions{Timeout: 10 * time.Second} }

// TestDeployAppliesAndRecords: a deploy server-side applies every object
// as field manager berth, follows the rollout to the end and records
// revision 1 (deployed, with the service's image and digest) in the
// history ConfigMap.
func TestDeployAppliesAndRecords(t *testing.T) {
	s := newSim(t)
	ctx := context.Background()
	var events []string
	o := quick()
	o.Progress = func(e Event) { events = append(events, e.Service+": "+e.Message) }
	res, err := s.env.Deploy(ctx, "shop", objects(t, "1", false), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeDeployed || res.Revision != 1 || res.Current != 1 {
		t.Errorf("result %+v", res)
	}
	d := s.deployment(t, "web")
	managers := []string{}
	for _, m := range d.ManagedFields {
		managers = append(managers, m.Manager+"/"+string(m.Operation))
	}
	if !strings.Contains(strings.Join(managers, ","), "berth/Apply") {
		t.Errorf("managed fields %v, want berth/Apply", managers)
	}
	if d.Labels[LabelStack] != "shop" || d.Labels[LabelManagedBy] != "berth" {
		t.Errorf("labels %v", d.Labels)
	}
	if !strings.Contains(strings.Join(events, "\n"), "web: rolled out") {
		t.Errorf("progress %q, want web rolled out", events)
	}
	h, err := LoadHistory(ctx, s.env.Cluster, "shop", "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Revisions) != 1 || h.Revisions[0].Outcome != OutcomeDeployed || h.Revisions[0].Services[0].Image != digest ||
		h.Revisions[0].Services[0].Digest == "" || h.Revisions[0].Finished.IsZero() {
		t.Errorf("history %+v", h.Revisions)
	}
}

// TestSecondIdenticalDeployChangesNothing: deploying the same objects
// again records no revision and leaves the Deployment's spec (so its
// ReplicaSets) as it was.
func TestSecondIdenticalDeployChangesNothing(t *testing.T) {
	s := newSim(t)
	ctx := context.Background()
	if _, err := s.env.Deploy(ctx, "shop", objects(t, "1", false), quick()); err != nil {
		t.Fatal(err)
	}
	before := s.deployment(t, "web")
	res, err := s.env.Deploy(ctx, "shop", objects(t, "1", false), quick())
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeUnchanged || res.Revision != 0 || res.Current != 1 {
		t.Errorf("result %+v, want unchanged at revision 1", res)
	}
	after := s.deployment(t, "web")
	if after.Generation != before.Generation || after.Spec.Template.Annotations[AnnotationConfigHash] != before.Spec.Template.Annotations[AnnotationConfigHash] {
		t.Errorf("generation %d → %d", before.Generation, after.Generation)
	}
	h, _ := LoadHistory(ctx, s.env.Cluster, "shop", "shop")
	if len(h.Revisions) != 1 {
		t.Errorf("%d revisions, want 1", len(h.Revisions))
	}
}

// TestFailedRolloutRollsBack: a revision whose new pods crash-loop is
// rolled back at once (well within 2 s of the failure being read from the
// API) to the previous revision's objects; the history says rolled_back
// with the reason, and the previous revision stays current.
func TestFailedRolloutRollsBack(t *testing.T) {
	s := newSim(t)
	ctx := context.Background()
	v1, v2 := objects(t, "1", false), objects(t, "2", false)
	if _, err := s.env.Deploy(ctx, "shop", v1, quick()); err != nil {
		t.Fatal(err)
	}
	s.fate(hashOf(t, v2, "web"), podCrashLoop)
	var events []string
	o := quick()
	o.Progress = func(e Event) { events = append(events, e.Message) }
	res, err := s.env.Deploy(ctx, "shop", v2, o)
	if !errors.Is(err, ErrRolloutFailed) || !strings.Contains(err.Error(), "CrashLoopBackOff") {
		t.Fatalf("error %v, want a failed rollout naming CrashLoopBackOff", err)
	}
	if res.Outcome != OutcomeRolledBack || res.Revision != 2 || res.Current != 1 {
		t.Errorf("result %+v", res)
	}
	if res.Decision <= 0 || res.Decision > 2*time.Second {
		t.Errorf("rollback decision %s after the failure was read, want ≤ 2s", res.Decision)
	}
	if got := s.deployment(t, "web").Spec.Template.Annotations[AnnotationConfigHash]; got != hashOf(t, v1, "web") {
		t.Errorf("web's template after the rollback has hash %s, want revision 1's", got)
	}
	if !strings.Contains(strings.Join(events, "\n"), "rolling back to revision 1") {
		t.Errorf("progress %q", events)
	}
	h, _ := LoadHistory(ctx, s.env.Cluster, "shop", "shop")
	cur, _ := h.Current()
	if r, _ := h.Get(2); r.Outcome != OutcomeRolledBack || !strings.Contains(r.Reason, "CrashLoopBackOff") || cur.Number != 1 {
		t.Errorf("revision 2: %s (%s), current %d", r.Outcome, r.Reason, cur.Number)
	}
}

// TestUnreadyPastTimeoutRollsBack: pods that run but never become ready
// fail the rollout at the timeout, and it is rolled back.
func TestUnreadyPastTimeoutRollsBack(t *testing.T) {
	s := newSim(t)
	ctx := context.Background()
	v1, v2 := objects(t, "1", false), objects(t, "2", false)
	if _, err := s.env.Deploy(ctx, "shop", v1, quick()); err != nil {
		t.Fatal(err)
	}
	s.fate(hashOf(t, v2, "web"), podNeverReady)
	start := time.Now()
	res, err := s.env.Deploy(ctx, "shop", v2, DeployOptions{Timeout: 500 * time.Millisecond})
	if !errors.Is(err, ErrRolloutFailed) || !strings.Contains(err.Error(), "not ready before the timeout") {
		t.Fatalf("error %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s", took)
	}
	if res.Outcome != OutcomeRolledBack || s.deployment(t, "web").Spec.Template.Annotations[AnnotationConfigHash] != hashOf(t, v1, "web") {
		t.Errorf("result %+v", res)
	}
}

// TestFirstDeployFailureDeletesWhatItCreated: with no earlier revision, a
// failed rollout deletes the objects it created (claims excepted: they
// may hold data), so nothing is left half-deployed.
func TestFirstDeployFailureDeletesWhatItCreated(t *testing.T) {
	s := newSim(t)
	ctx := context.Background()
	v1 := objects(t, "1", false)
	s.fate(hashOf(t, v1, "web"), podCrashLoop)
	if _, err := s.env.Deploy(ctx, "shop", v1, quick()); !errors.Is(err, ErrRolloutFailed) {
		t.Fatalf("error %v", err)
	}
	for _, kind := range []string{"Deployment", "Service"} {
		if l, _ := s.env.Cluster.List(ctx, kind, "shop", LabelStack+"=shop"); len(l) > 0 {
			t.Errorf("%d %ss left", len(l), kind)
		}
	}
}

// TestRemovedServiceIsPruned: a service gone from the stack loses its
// Deployment and Service after a successful rollout; its volume's claim
// is kept, with a warning naming it.
func TestRemovedServiceIsPruned(t *testing.T) {
	s := newSim(t)
	ctx := context.Background()
	if _, err := s.env.Deploy(ctx, "shop", objects(t, "1", true), quick()); err != nil {
		t.Fatal(err)
	}
	res, err := s.env.Deploy(ctx, "shop", objects(t, "1", false), quick())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.cs.AppsV1().Deployments("shop").Get(ctx, "worker", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("worker's Deployment: %v, want pruned", err)
	}
	if _, err := s.cs.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Errorf("web's Deployment: %v", err)
	}
	if _, err := s.cs.CoreV1().PersistentVolumeClaims("shop").Get(ctx, "shop-data", metav1.GetOptions{}); err != nil {
		t.Errorf("claim: %v, want kept", err)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "PersistentVolumeClaim shop-data") {
		t.Errorf("warnings %q", res.Warnings)
	}
	if _, err := s.cs.CoreV1().ConfigMaps("shop").Get(ctx, HistoryName("shop"), metav1.GetOptions{}); err != nil {
		t.Errorf("history: %v, want kept", err)
	}
}

// TestForbiddenApplyIsReverted: RBAC refusing one object fails the deploy
// with an error naming it, and what the deploy applied before it is
// reverted to the previous revision (the ConfigMap, the Service).
func TestForbiddenApplyIsReverted(t *testing.T) {
	s := newSim(t)
	ctx := context.Background()
	if _, err := s.env.Deploy(ctx, "shop", objects(t, "1", false), quick()); err != nil {
		t.Fatal(err)
	}
	s.cs.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "web", errors.New(`User "ci" cannot patch resource "deployments"`))
	})
	v2 := objects(t, "2", false)
	var svcApplied bool
	s.cs.PrependReactor("patch", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		svcApplied = true
		return false, nil, nil
	})
	_, err := s.env.Deploy(ctx, "shop", v2, quick())
	if err == nil || !strings.Contains(err.Error(), "apply Deployment shop/web") || !strings.Contains(err.Error(), "forbidden by the cluster's RBAC") {
		t.Fatalf("error %v, want the Deployment named and RBAC", err)
	}
	if !svcApplied {
		t.Error("the Service was not applied before the Deployment")
	}
	h, _ := LoadHistory(ctx, s.env.Cluster, "shop", "shop")
	if r, _ := h.Get(2); r.Outcome != OutcomeFailed {
		t.Errorf("revision 2: %+v", r)
	}
	if cur, _ := h.Current(); cur.Number != 1 {
		t.Errorf("current %d", cur.Number)
	}
}

// TestNamespaceMissing: a namespace that does not exist is an error
// naming it and the environment field, before anything is applied.
func TestNamespaceMissing(t *testing.T) {
	s := newSim(t)
	s.env.Namespace = "nope"
	objs, err := Translate(model.StackSpec{Name: "shop", Services: []model.ServiceSpec{base()}}, Options{Namespace: "nope"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.env.Deploy(context.Background(), "shop", objs.Objects, quick())
	if err == nil || !strings.Contains(err.Error(), `namespace "nope" does not exist`) || !strings.Contains(err.Error(), "environments.k8s.kubernetes.namespace") {
		t.Fatalf("error %v", err)
	}
	if l, _ := s.env.Cluster.List(context.Background(), "Deployment", "nope", ""); len(l) > 0 {
		t.Errorf("applied %d Deployments", len(l))
	}
}

// TestUnreachableAPIServer: a kubeconfig naming a server nobody listens
// on gives an error naming the server and saying it does not answer.
func TestUnreachableAPIServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	kc := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://`+addr+`", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: ctx, context: {cluster: c, user: u, namespace: shop}}]
current-context: ctx
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, ns, err := Connect(&stack.Kubernetes{Kubeconfig: kc})
	if err != nil {
		t.Fatal(err)
	}
	if ns != "shop" {
		t.Errorf("namespace %q, want the context's", ns)
	}
	env := &Env{Cluster: c, Namespace: ns, Name: "k8s"}
	err = env.CheckNamespace(context.Background())
	if err == nil || !strings.Contains(err.Error(), "https://"+addr+" does not answer") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("error %v", err)
	}
	// The text, not the transport error: berth's error printer rewrites a
	// failed TCP request as "cannot reach registry HOST".
	var op *net.OpError
	if errors.As(err, &op) {
		t.Errorf("the error chain holds %v", op)
	}
}

// TestRollbackCommand: berth rollback SERVICE re-applies the service's
// objects of the revision before the current one, as a new revision
// recording which it restores.
func TestRollbackCommand(t *testing.T) {
	s := newSim(t)
	ctx := context.Background()
	v1 := objects(t, "1", false)
	for _, v := range [][]Object{v1, objects(t, "2", false)} {
		if _, err := s.env.Deploy(ctx, "shop", v, quick()); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.env.Rollback(ctx, "shop", "web", 0, quick())
	if err != nil {
		t.Fatal(err)
	}
	if res.Revision != 3 || res.Current != 3 || res.Outcome != OutcomeDeployed {
		t.Errorf("result %+v", res)
	}
	if got := s.deployment(t, "web").Spec.Template.Annotations[AnnotationConfigHash]; got != hashOf(t, v1, "web") {
		t.Errorf("web runs hash %s, want revision 1's", got)
	}
	h, _ := LoadHistory(ctx, s.env.Cluster, "shop", "shop")
	if r, _ := h.Get(3); r.RollbackOf != 1 {
		t.Errorf("revision 3: %+v", r)
	}
	if _, err := s.env.Rollback(ctx, "shop", "web", 3, quick()); err == nil || !strings.Contains(err.Error(), "already the current one") {
		t.Errorf("rollback to the current: %v", err)
	}
}
