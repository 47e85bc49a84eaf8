package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestImagePullFailureNamesDeploymentPodAndImage: a rollout that fails
// on an image the registry does not have is one error naming the
// Deployment (namespace/name), the pod and the image, also when the
// kubelet's message does not name the image (ImagePullBackOff's can be a
// bare "Back-off pulling image").
func TestImagePullFailureNamesDeploymentPodAndImage(t *testing.T) {
	p := &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
		Name: "web", Image: "registry.local/shop/web:9", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}},
	}}}}
	if f := podFailure(p); !strings.Contains(f, "registry.local/shop/web:9") {
		t.Errorf("podFailure = %q, want the image named", f)
	}

	s := newSim(t)
	ctx := context.Background()
	v1 := objects(t, "1", false)
	s.fate(hashOf(t, v1, "web"), podCrashLoop)
	_, err := s.env.Deploy(ctx, "shop", v1, DeployOptions{Timeout: 10 * time.Second})
	if !errors.Is(err, ErrRolloutFailed) || !strings.Contains(err.Error(), "Deployment shop/web: pod web-") {
		t.Errorf("error %v, want the Deployment shop/web and its pod named", err)
	}
}
