package remote

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/health"
	"github.com/berth-dev/berth/internal/kube"
	"github.com/berth-dev/berth/internal/model"
)

const image = "127.0.0.1:5000/shop/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func backend(cs *fake.Clientset) *Backend {
	return &Backend{Env: kube.Env{Cluster: kube.NewClient(cs, "https://test:6443"), Namespace: "shop", Name: "k8s"}}
}

// TestDeployReportAndHistory: a deploy through the backend streams the
// translation's warnings and the rollout's progress as deploy events and
// ends with deploy's report; berth history then reads the revision from
// the cluster as a deploy.HistoryEntry, current. (replicas: 0 needs no
// pods: the rollout is done once applied.)
func TestDeployReportAndHistory(t *testing.T) {
	cs := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}})
	b := backend(cs)
	spec := model.StackSpec{Name: "shop", Services: []model.ServiceSpec{{Name: "web", Image: image, Replicas: 0,
		Restart: model.RestartPolicy{Mode: model.RestartAlways}}}}
	var lines []deploy.StreamLine
	err := b.Deploy(context.Background(), deploy.Request{Spec: spec, ReadyTimeout: 5 * time.Second}, func(l deploy.StreamLine) error {
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	last := lines[len(lines)-1]
	if last.Report == nil || last.Failed != "" || len(last.Report.Services) != 1 {
		t.Fatalf("last line %+v", last)
	}
	if s := last.Report.Services[0]; s.Service != "web" || s.Outcome != kube.OutcomeDeployed || s.Revision != 1 || s.Current != 1 || !strings.HasPrefix(s.Digest, "sha256:0123") {
		t.Errorf("report %+v", s)
	}
	var warned, progressed bool
	for _, l := range lines {
		if l.Event != nil && strings.Contains(l.Event.Message, "warning: services.web.healthcheck") {
			warned = true
		}
		if l.Event != nil && l.Event.Message == "rolled out" {
			progressed = true
		}
	}
	if !warned || !progressed {
		t.Errorf("events: warning %v, progress %v", warned, progressed)
	}
	h, err := b.History(context.Background(), "shop", "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || !h[0].Current || h[0].Number != 1 || h[0].Outcome != kube.OutcomeDeployed || h[0].Image != image {
		t.Errorf("history %+v", h)
	}
	if h, _ := b.History(context.Background(), "shop", "nope"); len(h) != 0 {
		t.Errorf("history of another service: %+v", h)
	}
}

// TestContainersFromPods: berth ps -E lists the stack's pods as
// containers: service, replica number, readiness as health, restarts,
// the imageID's digest.
func TestContainersFromPods(t *testing.T) {
	pod := func(name string, ready bool, restarts int32) *corev1.Pod {
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{kube.LabelStack: "shop", kube.LabelService: "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}},
			Status: corev1.PodStatus{PodIP: "10.0.0.5", Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "web", RestartCount: restarts, ImageID: "reg/web@sha256:abc",
					State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}},
		}
	}
	cs := fake.NewClientset(pod("web-b", false, 2), pod("web-a", true, 0))
	got, err := backend(cs).Containers(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "web-a" || got[0].Replica != 1 || got[0].Health != health.Healthy || got[0].Image != "sha256:abc" ||
		got[1].Health != health.Starting || got[1].Restarts != 2 || got[1].State != engine.StateRunning || got[1].IP != "10.0.0.5" {
		t.Errorf("containers %+v", got)
	}
}
