package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Event is one step of a rollout, as berth deploy prints it.
type Event struct {
	Time     time.Time
	Service  string
	Revision int
	Message  string
}

// target is a Deployment a rollout waits for: its name, the generation
// the apply gave it, and the config hash of the pods it wants.
type target struct {
	name, hash string
	generation int64
	replicas   int32
}

// waitingFailures are the container waiting reasons that fail a rollout
// at once: the pod will not become ready by waiting.
var waitingFailures = []string{"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName",
	"CreateContainerConfigError", "CreateContainerError", "RunContainerError", "ErrImageNeverPull"}

// rolloutFailure is why a rollout failed and when berth saw it.
type rolloutFailure struct {
	service, reason string
	seen            time.Time
	// exited is when the failing container last ended, as the kubelet
	// reported it (whole seconds; zero: not a container's exit).
	exited time.Time
}

func (f *rolloutFailure) Error() string { return "service " + f.service + ": " + f.reason }

// follow waits until every target Deployment has rolled out (observed its
// generation; all replicas updated and available, no old pod left, not
// even one terminating), and
// fails as soon as the API shows a failure: ProgressDeadlineExceeded or
// ReplicaFailure, a new pod crash-looping, not pulling its image, unable
// to start, or restarted (its health check failed) while not ready; or
// the deadline passes. It re-reads the state on every watch event (and
// every second, should a watch end), so a failure is acted on as soon as
// the API server tells of it.
func follow(ctx context.Context, c Cluster, ns, stack string, targets []target, deadline time.Time, revision int, progress func(Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sel := LabelStack + "=" + stack
	changes, err := c.Changes(ctx, ns, sel)
	if err != nil {
		return fmt.Errorf("watch the stack's Deployments and Pods: %w", explain(err, c.Server()))
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := map[string]string{}
	for {
		deps, err := c.ListCached(ctx, "Deployment", ns, sel)
		if err != nil {
			return fmt.Errorf("read the stack's Deployments: %w", explain(err, c.Server()))
		}
		pods, err := c.ListCached(ctx, "Pod", ns, sel)
		if err != nil {
			return fmt.Errorf("read the stack's Pods: %w", explain(err, c.Server()))
		}
		seen := time.Now()
		done := 0
		for _, t := range targets {
			st, fail := deploymentState(t, deps, pods)
			if fail != "" {
				return &rolloutFailure{service: t.name, reason: fail, seen: seen, exited: lastExitTime(t, pods)}
			}
			if st == "" {
				done++
				st = "rolled out"
			}
			if last[t.name] != st {
				last[t.name] = st
				progress(Event{Time: seen, Service: t.name, Revision: revision, Message: st})
			}
		}
		if done == len(targets) {
			return nil
		}
		if time.Now().After(deadline) {
			var slow []string
			for _, t := range targets {
				if last[t.name] != "rolled out" {
					slow = append(slow, t.name+" ("+last[t.name]+")")
				}
			}
			return &rolloutFailure{service: strings.Join(slow, ", "), reason: "not ready before the timeout", seen: time.Now()}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changes:
		case <-tick.C:
		case <-time.After(time.Until(deadline) + 10*time.Millisecond):
		}
	}
}

// deploymentState says where a Deployment's rollout is ("" when done) or
// why it failed.
func deploymentState(t target, deps, pods []Object) (state, failure string) {
	var d *appsv1.Deployment
	for _, o := range deps {
		if o.GetName() == t.name {
			d = o.(*appsv1.Deployment)
		}
	}
	if d == nil {
		return "", "Deployment " + t.name + " is gone"
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" && d.Status.ObservedGeneration >= t.generation {
			return "", "Deployment " + t.name + ": ProgressDeadlineExceeded: " + c.Message
		}
		if c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue {
			return "", "Deployment " + t.name + ": " + c.Reason + ": " + c.Message
		}
	}
	stopping := 0
	for _, o := range pods {
		p := o.(*corev1.Pod)
		if p.Labels[LabelService] != t.name {
			continue
		}
		if p.Annotations[AnnotationConfigHash] != t.hash {
			stopping++
			continue
		}
		if p.DeletionTimestamp != nil {
			continue
		}
		if f := podFailure(p); f != "" {
			return "", "pod " + p.Name + ": " + f
		}
	}
	if d.Status.ObservedGeneration < t.generation {
		return "waiting for the Deployment controller", ""
	}
	s := d.Status
	if s.UpdatedReplicas == t.replicas && s.AvailableReplicas == t.replicas && s.Replicas == t.replicas {
		if stopping > 0 {
			// As berth's local rollout, done once the old replicas have
			// stopped: until then one may still get a connection from a
			// node whose kube-proxy has not caught up.
			return fmt.Sprintf("%d/%d updated and available, %d old pods stopping", s.UpdatedReplicas, t.replicas, stopping), ""
		}
		return "", ""
	}
	return fmt.Sprintf("%d/%d updated, %d ready, %d available, %d old", s.UpdatedReplicas, t.replicas, s.ReadyReplicas, s.AvailableReplicas, max(s.Replicas-s.UpdatedReplicas, 0)), ""
}

// podFailure is why a pod of the new revision will not become ready, or
// "".
func podFailure(p *corev1.Pod) string {
	if p.Status.Phase == corev1.PodFailed {
		return "failed: " + strings.TrimSpace(p.Status.Reason+" "+p.Status.Message)
	}
	ready := false
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		if w := cs.State.Waiting; w != nil && slices.Contains(waitingFailures, w.Reason) {
			return fmt.Sprintf("container %s: %s: %s%s", cs.Name, w.Reason, w.Message, lastExit(cs))
		}
		if cs.RestartCount > 0 && !ready {
			return fmt.Sprintf("container %s restarted (%d) and is not ready%s", cs.Name, cs.RestartCount, lastExit(cs))
		}
	}
	return ""
}

// lastExitTime is the latest container exit among the target's new pods.
func lastExitTime(t target, pods []Object) time.Time {
	var last time.Time
	for _, o := range pods {
		p := o.(*corev1.Pod)
		if p.Labels[LabelService] != t.name || p.Annotations[AnnotationConfigHash] != t.hash {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			if tm := cs.LastTerminationState.Terminated; tm != nil && tm.FinishedAt.After(last) {
				last = tm.FinishedAt.Time
			}
		}
	}
	return last
}

// lastExit says how a container last ended.
func lastExit(cs corev1.ContainerStatus) string {
	t := cs.LastTerminationState.Terminated
	if t == nil {
		return ""
	}
	s := fmt.Sprintf("; last exit %d", t.ExitCode)
	if t.Reason != "" {
		s += " (" + t.Reason + ")"
	}
	if t.Message != "" {
		s += ": " + t.Message
	}
	return s
}
