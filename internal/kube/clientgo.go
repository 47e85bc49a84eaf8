package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/berth-dev/berth/internal/stack"
)

// Client is the Cluster of a real API server, through client-go's typed
// clientset (or its fake, in tests).
type Client struct {
	cs     kubernetes.Interface
	server string
}

// NewClient adapts a clientset; server names the API server in errors.
func NewClient(cs kubernetes.Interface, server string) *Client {
	return &Client{cs: cs, server: server}
}

// Connect opens an environment's cluster as kubectl would: its kubeconfig
// (a list joined by ':' like $KUBECONFIG) and context. It returns the
// namespace to use: the environment's, else the context's, else default.
func Connect(k *stack.Kubernetes) (*Client, string, error) {
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(k.Kubeconfig)}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.Context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig %s (context %q): %w", k.Kubeconfig, k.Context, err)
	}
	cfg.UserAgent = "berth"
	ns := k.Namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil || ns == "" {
			ns = "default"
		}
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig %s: %w", k.Kubeconfig, err)
	}
	return NewClient(cs, cfg.Host), ns, nil
}

// Server names the API server.
func (c *Client) Server() string { return c.server }

// Namespace checks ns exists.
func (c *Client) Namespace(ctx context.Context, ns string) error {
	_, err := c.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	return err
}

// typedClient is the shape every client-go typed resource client has.
type typedClient[T runtime.Object, L runtime.Object] interface {
	Get(ctx context.Context, name string, o metav1.GetOptions) (T, error)
	List(ctx context.Context, o metav1.ListOptions) (L, error)
	Create(ctx context.Context, obj T, o metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, o metav1.UpdateOptions) (T, error)
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, o metav1.PatchOptions, sub ...string) (T, error)
	Delete(ctx context.Context, name string, o metav1.DeleteOptions) error
	Watch(ctx context.Context, o metav1.ListOptions) (watch.Interface, error)
}

// resource is one kind's client, untyped.
type kindClient interface {
	get(ctx context.Context, name string) (Object, error)
	list(ctx context.Context, selector, resourceVersion string) ([]Object, error)
	create(ctx context.Context, o Object) (Object, error)
	update(ctx context.Context, o Object) (Object, error)
	apply(ctx context.Context, name string, data []byte, force bool) (Object, error)
	delete(ctx context.Context, name string) error
}

type typed[T Object, L runtime.Object] struct {
	c   typedClient[T, L]
	gvk schema.GroupVersionKind
}

func (r typed[T, L]) set(o T, err error) (Object, error) {
	if err != nil {
		return nil, err
	}
	o.GetObjectKind().SetGroupVersionKind(r.gvk)
	return o, nil
}

func (r typed[T, L]) get(ctx context.Context, name string) (Object, error) {
	return r.set(r.c.Get(ctx, name, metav1.GetOptions{}))
}

func (r typed[T, L]) list(ctx context.Context, selector, resourceVersion string) ([]Object, error) {
	l, err := r.c.List(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: resourceVersion})
	if err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(l)
	if err != nil {
		return nil, err
	}
	out := make([]Object, 0, len(items))
	for _, it := range items {
		o, ok := it.(T)
		if !ok {
			return nil, fmt.Errorf("list %s: unexpected item %T", r.gvk.Kind, it)
		}
		o.GetObjectKind().SetGroupVersionKind(r.gvk)
		out = append(out, o)
	}
	return out, nil
}

func (r typed[T, L]) create(ctx context.Context, o Object) (Object, error) {
	t, ok := o.(T)
	if !ok {
		return nil, fmt.Errorf("create %s: %T", r.gvk.Kind, o)
	}
	return r.set(r.c.Create(ctx, t, metav1.CreateOptions{FieldManager: FieldManager}))
}

func (r typed[T, L]) update(ctx context.Context, o Object) (Object, error) {
	t, ok := o.(T)
	if !ok {
		return nil, fmt.Errorf("update %s: %T", r.gvk.Kind, o)
	}
	return r.set(r.c.Update(ctx, t, metav1.UpdateOptions{FieldManager: FieldManager}))
}

func (r typed[T, L]) apply(ctx context.Context, name string, data []byte, force bool) (Object, error) {
	return r.set(r.c.Patch(ctx, name, types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: FieldManager, Force: &force}))
}

func (r typed[T, L]) delete(ctx context.Context, name string) error {
	bg := metav1.DeletePropagationBackground
	return r.c.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg})
}

func (c *Client) kind(kind, ns string) (kindClient, error) {
	core := func(k string) schema.GroupVersionKind { return corev1.SchemeGroupVersion.WithKind(k) }
	switch kind {
	case "ConfigMap":
		return typed[*corev1.ConfigMap, *corev1.ConfigMapList]{c.cs.CoreV1().ConfigMaps(ns), core(kind)}, nil
	case "Secret":
		return typed[*corev1.Secret, *corev1.SecretList]{c.cs.CoreV1().Secrets(ns), core(kind)}, nil
	case "PersistentVolumeClaim":
		return typed[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList]{c.cs.CoreV1().PersistentVolumeClaims(ns), core(kind)}, nil
	case "Service":
		return typed[*corev1.Service, *corev1.ServiceList]{c.cs.CoreV1().Services(ns), core(kind)}, nil
	case "Pod":
		return typed[*corev1.Pod, *corev1.PodList]{c.cs.CoreV1().Pods(ns), core(kind)}, nil
	case "Deployment":
		return typed[*appsv1.Deployment, *appsv1.DeploymentList]{c.cs.AppsV1().Deployments(ns), appsv1.SchemeGroupVersion.WithKind(kind)}, nil
	case "ReplicaSet":
		return typed[*appsv1.ReplicaSet, *appsv1.ReplicaSetList]{c.cs.AppsV1().ReplicaSets(ns), appsv1.SchemeGroupVersion.WithKind(kind)}, nil
	case "Ingress":
		return typed[*networkingv1.Ingress, *networkingv1.IngressList]{c.cs.NetworkingV1().Ingresses(ns), networkingv1.SchemeGroupVersion.WithKind(kind)}, nil
	}
	return nil, fmt.Errorf("kind %q: berth does not manage it", kind)
}

// Get reads one object.
func (c *Client) Get(ctx context.Context, kind, ns, name string) (Object, error) {
	r, err := c.kind(kind, ns)
	if err != nil {
		return nil, err
	}
	return r.get(ctx, name)
}

// List lists a kind's objects matching selector.
func (c *Client) List(ctx context.Context, kind, ns, selector string) ([]Object, error) {
	r, err := c.kind(kind, ns)
	if err != nil {
		return nil, err
	}
	return r.list(ctx, selector, "")
}

// ListCached lists from the API server's watch cache.
func (c *Client) ListCached(ctx context.Context, kind, ns, selector string) ([]Object, error) {
	r, err := c.kind(kind, ns)
	if err != nil {
		return nil, err
	}
	return r.list(ctx, selector, "0")
}

// Apply server-side applies obj.
func (c *Client) Apply(ctx context.Context, obj Object, force bool) (Object, error) {
	r, err := c.kind(obj.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace())
	if err != nil {
		return nil, err
	}
	data, err := applyData(obj)
	if err != nil {
		return nil, err
	}
	return r.apply(ctx, obj.GetName(), data, force)
}

// applyData is obj as an apply configuration: no status, no server-set
// metadata (an applied field is a field berth owns).
func applyData(obj Object) ([]byte, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		for _, k := range []string{"creationTimestamp", "resourceVersion", "uid", "managedFields", "generation"} {
			delete(md, k)
		}
	}
	return json.Marshal(m)
}

// Create creates obj.
func (c *Client) Create(ctx context.Context, obj Object) (Object, error) {
	r, err := c.kind(obj.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace())
	if err != nil {
		return nil, err
	}
	return r.create(ctx, obj)
}

// Update replaces obj (resourceVersion checked).
func (c *Client) Update(ctx context.Context, obj Object) (Object, error) {
	r, err := c.kind(obj.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace())
	if err != nil {
		return nil, err
	}
	return r.update(ctx, obj)
}

// Delete deletes an object.
func (c *Client) Delete(ctx context.Context, kind, ns, name string) error {
	r, err := c.kind(kind, ns)
	if err != nil {
		return err
	}
	return r.delete(ctx, name)
}

// Changes watches Deployments and Pods matching selector.
func (c *Client) Changes(ctx context.Context, ns, selector string) (<-chan struct{}, error) {
	// resourceVersion 0: from the watch cache at once (its first events
	// are the objects as they are). Unset, the API server first waits for
	// its cache to catch up with etcd, seconds on an idle namespace.
	o := metav1.ListOptions{LabelSelector: selector, ResourceVersion: "0"}
	dw, err := c.cs.AppsV1().Deployments(ns).Watch(ctx, o)
	if err != nil {
		return nil, err
	}
	pw, err := c.cs.CoreV1().Pods(ns).Watch(ctx, o)
	if err != nil {
		dw.Stop()
		return nil, err
	}
	ch := make(chan struct{}, 1)
	pump := func(w watch.Interface) {
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-w.ResultChan():
				if !ok {
					return // the caller's ticker keeps it going
				}
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}
	go pump(dw)
	go pump(pw)
	return ch, nil
}

// Logs streams a pod's container log.
func (c *Client) Logs(ctx context.Context, ns, pod string, o *corev1.PodLogOptions) (io.ReadCloser, error) {
	return c.cs.CoreV1().Pods(ns).GetLogs(pod, o).Stream(ctx)
}
