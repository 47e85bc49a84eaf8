package kube

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/berth-dev/berth/internal/model"
)

func TestUpdateConfigIsRollingUpdate(t *testing.T) {
	two, zero := uint64(2), uint64(0)
	for _, tc := range []struct {
		u                  *model.UpdateConfig
		surge, unavailable string
		minReady           int32
	}{
		{nil, "1", "0", 5}, // berth's defaults: parallelism 1, start-first, monitor 5 s
		{&model.UpdateConfig{Parallelism: &two, Order: "start-first", Monitor: 12 * time.Second}, "2", "0", 12},
		{&model.UpdateConfig{Parallelism: &two, Order: "stop-first"}, "0", "2", 5},
		{&model.UpdateConfig{Parallelism: &zero, Order: "stop-first"}, "0", "100%", 5},
	} {
		s := base()
		s.Update = tc.u
		d := find[*appsv1.Deployment](t, translate(t, Options{}, s), "Deployment", "web")
		ru := d.Spec.Strategy.RollingUpdate
		if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru.MaxSurge.String() != tc.surge || ru.MaxUnavailable.String() != tc.unavailable || d.Spec.MinReadySeconds != tc.minReady {
			t.Errorf("%+v: %+v surge %s unavailable %s minReady %d", tc.u, d.Spec.Strategy.Type, ru.MaxSurge, ru.MaxUnavailable, d.Spec.MinReadySeconds)
		}
	}
}

// A service writing a named volume is Recreate (berth's stop-first rule);
// one mounting it read-only rolls.
func TestWritableVolumeIsRecreate(t *testing.T) {
	s := base()
	s.Update = &model.UpdateConfig{Order: "start-first"}
	s.Mounts = []model.Mount{{Type: "volume", Source: "shop_data", Target: "/data"}}
	r := translate(t, Options{}, s)
	if d := find[*appsv1.Deployment](t, r, "Deployment", "web"); d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || d.Spec.Strategy.RollingUpdate != nil {
		t.Errorf("strategy %+v", d.Spec.Strategy)
	}
	if !warned(r, "deploy.update_config.order") {
		t.Errorf("start-first overridden without a warning: %v", r.Warnings)
	}
	s.Mounts[0].ReadOnly = true
	if d := find[*appsv1.Deployment](t, translate(t, Options{}, s), "Deployment", "web"); d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("read-only volume: %+v", d.Spec.Strategy)
	}
}

func TestUpdateFieldsWithoutDeploymentFieldWarn(t *testing.T) {
	s := base()
	s.Update = &model.UpdateConfig{Delay: time.Second, FailureAction: "rollback"}
	s.Rollback = &model.UpdateConfig{Order: "stop-first"}
	r := translate(t, Options{}, s)
	d := find[*appsv1.Deployment](t, r, "Deployment", "web")
	if !warned(r, "deploy.update_config.delay") || !warned(r, "deploy.update_config.failure_action") || !warned(r, "deploy.rollback_config") {
		t.Errorf("warnings %v", r.Warnings)
	}
	if d.Annotations[AnnotationUpdateConfig] == "" || d.Annotations[AnnotationRollbackConfig] == "" {
		t.Errorf("annotations %v", d.Annotations)
	}
}
