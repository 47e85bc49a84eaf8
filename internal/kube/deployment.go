package kube

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/berth-dev/berth/internal/model"
)

// defaultStopTimeout is berth's engine's grace period when the service
// sets none (Kubernetes' own is 30 s).
const defaultStopTimeout = 10

// drainSleep is how long a serving pod that is being stopped waits
// (a preStop sleep) before its SIGTERM, at most its grace period less 1 s.
const drainSleep = 5

// Annotations on a Deployment that carry what berth's rollout (not the
// Deployment controller) enforces.
const (
	AnnotationUpdateConfig   = "berth.dev/update-config"
	AnnotationRollbackConfig = "berth.dev/rollback-config"
)

// service translates one service into its Deployment and the objects it
// uses.
func (t *translator) service(svc model.ServiceSpec) error {
	if err := checkServiceName(svc.Name); err != nil {
		return err
	}
	if svc.Image == "" {
		return fmt.Errorf("image: none (build the service's image and deploy it by tag: berth ship, berth deploy --tag)")
	}
	if !strings.Contains(svc.Image, "@sha256:") {
		t.warn(svc.Name, "image", "%q is not pinned by digest: the cluster resolves the tag when it pulls (berth ship and deploy --tag pin digests)", svc.Image)
	}
	c := corev1.Container{Name: svc.Name, Image: svc.Image, WorkingDir: svc.WorkingDir, ImagePullPolicy: corev1.PullIfNotPresent}
	t.command(svc, &c)
	for _, k := range slices.Sorted(maps.Keys(svc.Env)) {
		c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: svc.Env[k]})
	}
	sc, err := t.securityContext(svc)
	if err != nil {
		return err
	}
	c.SecurityContext = sc
	if c.Resources, err = resources(svc); err != nil {
		return err
	}
	if svc.Pids > 0 {
		t.warn(svc.Name, "pids_limit", "%d: a pod spec has no pids limit (the kubelet's podPidsLimit applies to every pod)", svc.Pids)
	}
	for _, p := range svc.Ports {
		cp := corev1.ContainerPort{Name: portName(p), ContainerPort: int32(p.ContainerPort), Protocol: protocol(p.Protocol)}
		if !slices.Contains(c.Ports, cp) { // one container port published on two host ports
			c.Ports = append(c.Ports, cp)
		}
	}
	t.probes(svc, &c)
	c.Lifecycle, err = t.stopSignal(svc)
	if err != nil {
		return err
	}
	pod := corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways, EnableServiceLinks: new(false)}
	if t.pullSecretName != "" {
		pod.ImagePullSecrets = []corev1.LocalObjectReference{{Name: t.pullSecretName}}
	}
	grace := int64(defaultStopTimeout)
	if svc.StopTimeout > 0 {
		grace = int64(ceilSeconds(svc.StopTimeout))
	}
	pod.TerminationGracePeriodSeconds = &grace
	if c.Lifecycle == nil && len(svc.Ports) > 0 && grace > 1 {
		// What berth's proxy does by draining: a pod being replaced
		// keeps serving while the endpoint removal reaches every node's
		// kube-proxy and the Ingress controller, and only then gets
		// SIGTERM (else connections still sent to it are refused).
		c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: min(drainSleep, grace-1)}}}
	}
	t.restart(svc)
	if svc.Hostname != "" {
		if errs := validation.IsDNS1123Label(svc.Hostname); len(errs) > 0 {
			return fmt.Errorf("hostname %q: a pod's hostname is a DNS-1123 label: %s", svc.Hostname, strings.Join(errs, "; "))
		}
		pod.Hostname = svc.Hostname
	}
	if len(svc.DependsOn) > 0 {
		t.warn(svc.Name, "depends_on", "%s: Kubernetes starts every Deployment at once; the pods wait for nothing (readiness probes keep traffic away from unready ones; a health check that needs a dependency fails until it is up, and its liveness probe restarts the pod: give it a start_period)", strings.Join(slices.Sorted(maps.Keys(svc.DependsOn)), ", "))
	}
	if len(svc.OptionalDeps) > 0 {
		t.warn(svc.Name, "depends_on.required", "%s: no start order exists on Kubernetes, required: false changes nothing", strings.Join(svc.OptionalDeps, ", "))
	}
	files, writable, err := t.storage(svc, &pod, &c)
	if err != nil {
		return err
	}
	pod.Containers = []corev1.Container{c}
	meta := t.objectMeta(svc.Name, svc.Name)
	annotations, err := t.serviceAnnotations(svc)
	if err != nil {
		return err
	}
	tmplAnn := maps.Clone(annotations)
	if tmplAnn == nil {
		tmplAnn = map[string]string{}
	}
	tmplAnn[AnnotationConfigHash] = configHash(svc, files)
	meta.Annotations = annotations
	if meta.Annotations == nil {
		meta.Annotations = map[string]string{}
	}
	if err := t.updateAnnotations(svc, meta.Annotations); err != nil {
		return err
	}
	replicas := int32(svc.Replicas)
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: t.selector(svc.Name)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: t.labels(svc.Name), Annotations: tmplAnn},
				Spec:       pod,
			},
		},
	}
	d.Spec.Strategy, d.Spec.MinReadySeconds = t.strategy(svc, writable)
	t.objects = append(t.objects, d)
	return t.services(svc)
}

// command: compose's entrypoint is the container's command, compose's
// command its args.
func (t *translator) command(svc model.ServiceSpec, c *corev1.Container) {
	c.Command, c.Args = svc.Entrypoint, svc.Command
	if svc.Entrypoint != nil && len(svc.Entrypoint) == 0 {
		t.warn(svc.Name, "entrypoint", "[] (clear the image's ENTRYPOINT) has no Kubernetes form: an empty command keeps the image's")
	}
	if svc.Command != nil && len(svc.Command) == 0 {
		t.warn(svc.Name, "command", "[] (clear the image's CMD) has no Kubernetes form: empty args keep the image's")
	}
}

// serviceAnnotations carries compose's labels: their keys and values
// need not be valid Kubernetes labels, so they become annotations.
func (t *translator) serviceAnnotations(svc model.ServiceSpec) (map[string]string, error) {
	if len(svc.Labels) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(svc.Labels)) {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			t.warn(svc.Name, "labels."+k, "not a valid Kubernetes annotation key (%s): left out", strings.Join(errs, "; "))
			continue
		}
		out[k] = svc.Labels[k]
	}
	return out, nil
}

// updateAnnotations records the update and rollback configs that berth's
// rollout applies (failure_action, max_failure_ratio, delay and the
// rollback config have no Deployment field).
func (t *translator) updateAnnotations(svc model.ServiceSpec, ann map[string]string) error {
	for _, a := range []struct {
		key string
		u   *model.UpdateConfig
	}{{AnnotationUpdateConfig, svc.Update}, {AnnotationRollbackConfig, svc.Rollback}} {
		if a.u == nil {
			continue
		}
		b, err := json.Marshal(a.u)
		if err != nil {
			return err
		}
		ann[a.key] = string(b)
	}
	if u := svc.Update; u != nil {
		if u.Delay > 0 {
			t.warn(svc.Name, "deploy.update_config.delay", "%s: a Deployment has no pause between batches (recorded in %s for berth's rollout)", u.Delay, AnnotationUpdateConfig)
		}
		if u.FailureAction != "" || u.MaxFailureRatio != 0 {
			t.warn(svc.Name, "deploy.update_config.failure_action", "the Deployment controller never rolls back: berth's rollout applies failure_action %q and max_failure_ratio %g (recorded in %s); applied by other tools they do nothing", u.FailureAction, u.MaxFailureRatio, AnnotationUpdateConfig)
		}
	}
	if svc.Rollback != nil {
		t.warn(svc.Name, "deploy.rollback_config", "no Deployment field: berth's rollback uses it (recorded in %s)", AnnotationRollbackConfig)
	}
	return nil
}

// restart: a Deployment's pods only restart Always.
func (t *translator) restart(svc model.ServiceSpec) {
	switch svc.Restart.Mode {
	case model.RestartAlways, model.RestartUnlessStopped:
	default:
		t.warn(svc.Name, "restart", "%q: a Deployment's pods always restart (restartPolicy Always is the only one Deployments allow)", svc.Restart.String())
	}
}

// stopSignal: the kubelet stops with SIGTERM (or the image's STOPSIGNAL);
// another signal is sent by a preStop hook running kill in the container.
func (t *translator) stopSignal(svc model.ServiceSpec) (*corev1.Lifecycle, error) {
	if svc.StopSignal == 0 || svc.StopSignal == syscall.SIGTERM {
		return nil, nil
	}
	name := unix.SignalName(svc.StopSignal)
	if name == "" {
		return nil, fmt.Errorf("stop_signal %d: unknown signal", int(svc.StopSignal))
	}
	t.warn(svc.Name, "stop_signal", "%s is sent by a preStop hook (kill -%s 1), which needs a kill command in the image; SIGTERM follows it", name, strings.TrimPrefix(name, "SIG"))
	return &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{
		Command: []string{"kill", "-" + strings.TrimPrefix(name, "SIG"), "1"}}}}, nil
}

func portName(p model.PortMapping) string {
	return strings.ToLower(protocolName(p.Protocol)) + "-" + strconv.Itoa(p.ContainerPort)
}

func protocolName(p string) string {
	if p == "" {
		return "tcp"
	}
	return p
}

func protocol(p string) corev1.Protocol { return corev1.Protocol(strings.ToUpper(protocolName(p))) }
