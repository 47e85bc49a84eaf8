package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Env is a stack's place in a cluster: the cluster and the namespace.
type Env struct {
	Cluster   Cluster
	Namespace string
	// Name is the environment's name in berth.yaml (for errors).
	Name string
}

// DeployOptions tune one deploy.
type DeployOptions struct {
	// Timeout bounds the rollout (and again the rollback after a failed
	// one); default 2 min.
	Timeout time.Duration
	// Progress gets every step (nil: none).
	Progress func(Event)
}

// Outcome is how a deploy or rollback ended.
type Outcome struct {
	Stack string
	// Revision is the revision deployed or attempted (0: nothing changed).
	Revision int
	// Current is the revision running now.
	Current int
	Outcome string // an Outcome*, or OutcomeUnchanged
	Reason  string
	// Services are what each service runs now.
	Services []ServiceRevision
	// Warnings did not change the outcome (a claim kept, a prune that
	// failed).
	Warnings []string
	// Decision is how long after berth read the failure from the API it
	// started the rollback (0: no rollback).
	Decision time.Duration
}

// OutcomeUnchanged: the cluster already ran what was asked.
const OutcomeUnchanged = "unchanged"

// ErrRolloutFailed wraps a rollout that failed (and was rolled back).
var ErrRolloutFailed = errors.New("rollout failed")

// Deploy applies a stack's objects (a translation with Namespace set to
// e.Namespace) and follows the rollout. A failed apply is reverted; a
// rollout that fails or passes the timeout is rolled back to the revision
// that ran before (re-applying its recorded objects), and Deploy returns
// an error wrapping ErrRolloutFailed with the Outcome. Every deploy that
// changes something is a revision in the cluster's history.
func (e *Env) Deploy(ctx context.Context, stack string, objs []Object, o DeployOptions) (Outcome, error) {
	return e.deploy(ctx, stack, objs, 0, o)
}

// Rollback rolls service back to revision to (0: the deployed revision
// before the current one): the current revision's objects with the
// service's own replaced by that revision's, as a new revision.
func (e *Env) Rollback(ctx context.Context, stack, service string, to int, o DeployOptions) (Outcome, error) {
	if err := e.CheckNamespace(ctx); err != nil {
		return Outcome{}, err
	}
	h, err := LoadHistory(ctx, e.Cluster, e.Namespace, stack)
	if err != nil {
		return Outcome{}, err
	}
	cur, ok := h.Current()
	if !ok {
		return Outcome{}, fmt.Errorf("stack %s has no deployed revision in namespace %s (berth deploy -E %s first)", stack, e.Namespace, e.Name)
	}
	if _, ok := cur.Service(service); !ok {
		return Outcome{}, fmt.Errorf("stack %s's current revision %d has no service %q", stack, cur.Number, service)
	}
	var from Revision
	if to > 0 {
		if from, ok = h.Get(to); !ok {
			return Outcome{}, fmt.Errorf("stack %s has no revision %d (berth history %s -E %s)", stack, to, service, e.Name)
		}
		if to == cur.Number {
			return Outcome{}, fmt.Errorf("revision %d of %s is already the current one", to, service)
		}
		if _, ok := from.Service(service); !ok || from.Outcome == OutcomeInProgress {
			return Outcome{}, fmt.Errorf("revision %d has no %s to roll back to", to, service)
		}
	} else {
		found := false
		for _, r := range slices.Backward(h.Revisions) {
			if _, has := r.Service(service); has && r.Number < cur.Number && r.Outcome == OutcomeDeployed {
				from, found = r, true
				break
			}
		}
		if !found {
			return Outcome{}, fmt.Errorf("service %s has no deployed revision before the current one (%d)", service, cur.Number)
		}
	}
	curObjs, err := decodeObjects(cur.Objects)
	if err != nil {
		return Outcome{}, err
	}
	fromObjs, err := decodeObjects(from.Objects)
	if err != nil {
		return Outcome{}, err
	}
	objs := slices.DeleteFunc(curObjs, func(x Object) bool { return x.GetLabels()[LabelService] == service })
	for _, x := range fromObjs {
		if x.GetLabels()[LabelService] == service {
			objs = append(objs, x)
		}
	}
	sortObjects(objs)
	return e.deploy(ctx, stack, objs, from.Number, o)
}

func (e *Env) progress(o DeployOptions, service string, rev int, format string, args ...any) {
	if o.Progress != nil {
		o.Progress(Event{Time: time.Now(), Service: service, Revision: rev, Message: fmt.Sprintf(format, args...)})
	}
}

// CheckNamespace: the namespace must exist (a user that may not read
// namespaces finds out at the first apply).
func (e *Env) CheckNamespace(ctx context.Context) error {
	err := e.Cluster.Namespace(ctx, e.Namespace)
	switch {
	case err == nil, apierrors.IsForbidden(err):
		return nil
	case apierrors.IsNotFound(err):
		return fmt.Errorf("namespace %q does not exist in the cluster %s (environments.%s.kubernetes.namespace): create it first (kubectl create namespace %s)", e.Namespace, e.Cluster.Server(), e.Name, e.Namespace)
	}
	return fmt.Errorf("namespace %s: %w", e.Namespace, explain(err, e.Cluster.Server()))
}

func (e *Env) deploy(ctx context.Context, stack string, objs []Object, rollbackOf int, o DeployOptions) (Outcome, error) {
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Progress == nil {
		o.Progress = func(Event) {}
	}
	res := Outcome{Stack: stack}
	for _, x := range objs {
		if x.GetNamespace() != e.Namespace {
			return res, fmt.Errorf("%s is in namespace %q, not the environment's %q", key(x), x.GetNamespace(), e.Namespace)
		}
	}
	if err := e.CheckNamespace(ctx); err != nil {
		return res, err
	}
	h, err := LoadHistory(ctx, e.Cluster, e.Namespace, stack)
	if err != nil {
		return res, err
	}
	if n := len(h.Revisions); n > 0 && h.Revisions[n-1].Outcome == OutcomeInProgress {
		last := h.Revisions[n-1]
		if time.Since(last.Created) < o.Timeout+2*time.Minute {
			return res, fmt.Errorf("stack %s: revision %d is being deployed since %s (by another berth?): wait for it, or deploy again after %s", stack, last.Number, last.Created.Format(time.RFC3339), last.Created.Add(o.Timeout+2*time.Minute).Format(time.RFC3339))
		}
		last.Outcome, last.Finished, last.Reason = OutcomeInterrupted, time.Now(), "the deploy did not finish"
		if err := h.Put(ctx, e.Cluster, e.Namespace, last); err != nil {
			return res, err
		}
	}
	cur, hasCur := h.Current()
	res.Current = cur.Number
	var prev []Object
	if hasCur {
		if prev, err = decodeObjects(cur.Objects); err != nil {
			return res, err
		}
	}
	rev := Revision{Number: h.Next(), Created: time.Now(), Outcome: OutcomeInProgress, RollbackOf: rollbackOf, Services: servicesOf(objs)}
	for _, x := range objs {
		b, err := stored(x)
		if err != nil {
			return res, err
		}
		rev.Objects = append(rev.Objects, b)
	}
	unchanged := hasCur && rollbackOf == 0 && sameObjects(rev.Objects, cur.Objects)
	// Objects from the history (rollback) carry no Secret data: those
	// Secrets stay as they are.
	toApply := objs
	if rollbackOf > 0 {
		toApply = slices.DeleteFunc(slices.Clone(objs), func(x Object) bool { return x.GetObjectKind().GroupVersionKind().Kind == "Secret" })
	}
	if !unchanged {
		if err := h.Put(ctx, e.Cluster, e.Namespace, rev); err != nil {
			return res, err
		}
		res.Revision = rev.Number
	}
	finish := func(outcome, reason string) error {
		if unchanged {
			return nil
		}
		rev.Outcome, rev.Reason, rev.Finished = outcome, reason, time.Now()
		// The outcome is written even when the caller gave up.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return h.Put(wctx, e.Cluster, e.Namespace, rev)
	}
	e.progress(o, stack, rev.Number, "applying %d objects to %s in namespace %s", len(toApply), e.Cluster.Server(), e.Namespace)
	done, err := applyAll(ctx, e.Cluster, toApply, prev)
	if err != nil {
		return res, errors.Join(err, finish(OutcomeFailed, err.Error()))
	}
	e.progress(o, stack, rev.Number, "applied")
	deadline := time.Now().Add(o.Timeout)
	ferr := follow(ctx, e.Cluster, e.Namespace, stack, targets(done), deadline, rev.Number, o.Progress)
	if ferr == nil {
		kept, perr := prune(ctx, e.Cluster, e.Namespace, stack, objs)
		for _, k := range kept {
			res.Warnings = append(res.Warnings, fmt.Sprintf("PersistentVolumeClaim %s is no longer used by the stack and is kept (it holds data): delete it with kubectl delete pvc %s -n %s", k, k, e.Namespace))
		}
		if perr != nil {
			res.Warnings = append(res.Warnings, perr.Error())
		}
		e.digests(ctx, stack, rev.Services)
		res.Services = rev.Services
		if unchanged {
			res.Outcome = OutcomeUnchanged
			return res, nil
		}
		res.Outcome, res.Current = OutcomeDeployed, rev.Number
		return res, finish(OutcomeDeployed, "")
	}
	var rf *rolloutFailure
	if !errors.As(ferr, &rf) {
		// The caller gave up or the API failed: leave the cluster as it is,
		// the next deploy converges from there.
		return res, errors.Join(ferr, finish(OutcomeInterrupted, ferr.Error()))
	}
	// Roll back at once: the previous revision's objects (none: the new
	// ones are deleted).
	res.Decision = time.Since(rf.seen)
	res.Reason = rf.Error()
	what := "deleting the new objects (no earlier revision)"
	if hasCur {
		what = fmt.Sprintf("rolling back to revision %d", cur.Number)
	}
	when := fmt.Sprintf("decided %s after reading the failure from the API", res.Decision.Round(time.Microsecond))
	if !rf.exited.IsZero() {
		when += fmt.Sprintf(", %.1fs after the container's exit the kubelet reported (whole seconds)", time.Since(rf.exited).Seconds())
	}
	e.progress(o, rf.service, rev.Number, "failed: %s; %s (%s)", rf.reason, what, when)
	rctx := context.WithoutCancel(ctx)
	back, rerr := revert(rctx, e.Cluster, done, prev)
	if rerr == nil && hasCur {
		rerr = follow(rctx, e.Cluster, e.Namespace, stack, targets(back), time.Now().Add(o.Timeout), cur.Number, o.Progress)
	}
	res.Outcome = OutcomeRolledBack
	if rerr != nil {
		res.Outcome = OutcomeFailed
		res.Reason += "; the rollback failed too: " + rerr.Error()
	} else if hasCur {
		e.progress(o, stack, cur.Number, "rolled back: revision %d runs", cur.Number)
		res.Services = cur.Services
	}
	return res, errors.Join(fmt.Errorf("%w: %s", ErrRolloutFailed, res.Reason), finish(res.Outcome, res.Reason))
}

// targets are the Deployments an apply changed, to follow.
func targets(done []applied) []target {
	var out []target
	for _, a := range done {
		d, ok := a.got.(*appsv1.Deployment)
		if !ok {
			continue
		}
		out = append(out, target{name: d.Name, hash: d.Spec.Template.Annotations[AnnotationConfigHash], generation: d.Generation, replicas: replicas(d)})
	}
	return out
}

func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// servicesOf reads what each service runs from its Deployment.
func servicesOf(objs []Object) []ServiceRevision {
	var out []ServiceRevision
	for _, x := range objs {
		d, ok := x.(*appsv1.Deployment)
		if !ok || len(d.Spec.Template.Spec.Containers) == 0 {
			continue
		}
		img := d.Spec.Template.Spec.Containers[0].Image
		s := ServiceRevision{Service: d.Name, Image: img, ConfigHash: d.Spec.Template.Annotations[AnnotationConfigHash]}
		if _, dg, ok := strings.Cut(img, "@"); ok {
			s.Digest = dg
		}
		out = append(out, s)
	}
	return out
}

// digests fills in the digests of images given by tag from what the
// pods run (their imageID).
func (e *Env) digests(ctx context.Context, stack string, svcs []ServiceRevision) {
	pods, err := e.Cluster.ListCached(ctx, "Pod", e.Namespace, LabelStack+"="+stack)
	if err != nil {
		return
	}
	for i, s := range svcs {
		if s.Digest != "" {
			continue
		}
		for _, o := range pods {
			p := o.(*corev1.Pod)
			if p.Labels[LabelService] != s.Service || p.Annotations[AnnotationConfigHash] != s.ConfigHash {
				continue
			}
			for _, cs := range p.Status.ContainerStatuses {
				if _, dg, ok := strings.Cut(cs.ImageID, "@"); ok && cs.Name == s.Service {
					svcs[i].Digest = dg
				}
			}
		}
	}
}

func sameObjects(a, b []json.RawMessage) bool {
	return slices.EqualFunc(a, b, func(x, y json.RawMessage) bool { return bytes.Equal(x, y) })
}
