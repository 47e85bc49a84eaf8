package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes/scheme"
)

// stored is an object as the history keeps it: a Secret without its data
// (a ConfigMap is no place for credentials).
func stored(o Object) (json.RawMessage, error) {
	if s, ok := o.(*corev1.Secret); ok {
		c := s.DeepCopy()
		c.Data, c.StringData = nil, nil
		o = c
	}
	return json.Marshal(o)
}

// decodeObjects turns a revision's objects back into typed objects.
func decodeObjects(raw []json.RawMessage) ([]Object, error) {
	var out []Object
	for _, b := range raw {
		ro, gvk, err := scheme.Codecs.UniversalDeserializer().Decode(b, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("history: an object: %w", err)
		}
		o, ok := ro.(Object)
		if !ok {
			return nil, fmt.Errorf("history: %s is not an object", gvk)
		}
		o.GetObjectKind().SetGroupVersionKind(*gvk)
		out = append(out, o)
	}
	return out, nil
}

// key names an object within a stack.
func key(o Object) string {
	return o.GetObjectKind().GroupVersionKind().Kind + "/" + o.GetName()
}

// applied is what an apply changed, so it can be undone.
type applied struct {
	obj     Object
	got     Object // the API server's answer (generation, status)
	existed bool   // the object was in the cluster before
}

// applyAll server-side applies objs in order. On the first error the
// objects already applied are reverted to prev (the revision running
// before; nil when none), so nothing is left half-applied, and the error
// names the object.
func applyAll(ctx context.Context, c Cluster, objs, prev []Object) ([]applied, error) {
	var done []applied
	for _, o := range objs {
		_, gerr := c.Get(ctx, o.GetObjectKind().GroupVersionKind().Kind, o.GetNamespace(), o.GetName())
		existed := gerr == nil
		if gerr != nil && !apierrors.IsNotFound(gerr) {
			_, rerr := revert(ctx, c, done, prev)
			return nil, errors.Join(objectError("read", o, c.Server(), gerr), rerr)
		}
		got, err := c.Apply(ctx, o, false)
		if err != nil {
			_, rerr := revert(ctx, c, done, prev)
			return nil, errors.Join(objectError("apply", o, c.Server(), err), rerr)
		}
		done = append(done, applied{obj: o, got: got, existed: existed})
	}
	return done, nil
}

// revert undoes an apply: each object goes back to its version in prev,
// or, when prev has none and the apply created it, is deleted. Secrets
// keep their data (the history does not hold it); PersistentVolumeClaims
// are never deleted (they hold data). It returns what it re-applied.
func revert(ctx context.Context, c Cluster, done []applied, prev []Object) ([]applied, error) {
	byKey := map[string]Object{}
	for _, p := range prev {
		byKey[key(p)] = p
	}
	var errs []error
	var back []applied
	for _, a := range slices.Backward(done) {
		kind := a.obj.GetObjectKind().GroupVersionKind().Kind
		if p, ok := byKey[key(a.obj)]; ok {
			if kind == "Secret" {
				continue
			}
			got, err := c.Apply(ctx, p, false)
			if err != nil {
				errs = append(errs, objectError("revert (re-apply the previous revision's)", p, c.Server(), err))
				continue
			}
			back = append(back, applied{obj: p, got: got, existed: true})
			continue
		}
		if a.existed || kind == "PersistentVolumeClaim" {
			continue
		}
		if err := c.Delete(ctx, kind, a.obj.GetNamespace(), a.obj.GetName()); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, objectError("revert (delete the new)", a.obj, c.Server(), err))
		}
	}
	return back, errors.Join(errs...)
}

// prunable are the kinds whose objects of removed services are deleted
// (PersistentVolumeClaims are kept: they hold data).
var prunable = []string{"Ingress", "Deployment", "Service", "Secret", "ConfigMap"}

// prune deletes the stack's objects that objs no longer has, found by the
// stack's labels; it returns the claims it kept.
func prune(ctx context.Context, c Cluster, ns, stack string, objs []Object) (kept []string, err error) {
	want := map[string]bool{}
	for _, o := range objs {
		want[key(o)] = true
	}
	sel := LabelManagedBy + "=" + ManagedBy + "," + LabelStack + "=" + stack + "," + labelHistory + "!=true"
	var errs []error
	for _, kind := range append(slices.Clone(prunable), "PersistentVolumeClaim") {
		list, err := c.List(ctx, kind, ns, sel)
		if err != nil {
			errs = append(errs, fmt.Errorf("list the stack's %ss: %w", kind, explain(err, c.Server())))
			continue
		}
		for _, o := range list {
			if want[key(o)] {
				continue
			}
			if kind == "PersistentVolumeClaim" {
				kept = append(kept, o.GetName())
				continue
			}
			if err := c.Delete(ctx, kind, ns, o.GetName()); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, objectError("prune", o, c.Server(), err))
			}
		}
	}
	return kept, errors.Join(errs...)
}
