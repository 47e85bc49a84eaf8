package kube

import (
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/internal/model"
)

// defaultMonitor is berth's deployer's update_config.monitor default
// (internal/deploy.DefaultMonitor, Swarm's): minReadySeconds.
const defaultMonitor = 5

// strategy maps update_config onto the Deployment's RollingUpdate with
// berth's defaults (internal/deploy.Defaults: parallelism 1, start-first,
// monitor 5 s): start-first → maxSurge parallelism, maxUnavailable 0;
// stop-first → maxSurge 0, maxUnavailable parallelism; parallelism 0 (all
// at once) → 100%; monitor → minReadySeconds. A service that writes a
// named volume gets Recreate: two pods on one data directory (and a
// ReadWriteOnce claim) cannot overlap, as berth's own stop-first rule.
func (t *translator) strategy(svc model.ServiceSpec, writableVolume bool) (appsv1.DeploymentStrategy, int32) {
	u := model.UpdateConfig{}
	if svc.Update != nil {
		u = *svc.Update
	}
	minReady := int32(defaultMonitor)
	if u.Monitor > 0 {
		minReady = ceilSeconds(u.Monitor)
	}
	if writableVolume {
		if u.Order == "start-first" {
			t.warn(svc.Name, "deploy.update_config.order", "start-first: the service writes a named volume, so its Deployment uses Recreate (old pods stop before new ones start)")
		}
		return appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}, minReady
	}
	step := intstr.FromInt32(1)
	if u.Parallelism != nil {
		if *u.Parallelism == 0 {
			step = intstr.FromString("100%")
		} else {
			step = intstr.FromInt32(int32(min(*u.Parallelism, 1<<31-1)))
		}
	}
	zero := intstr.FromInt32(0)
	ru := &appsv1.RollingUpdateDeployment{MaxSurge: &step, MaxUnavailable: &zero}
	if u.Order == "stop-first" {
		ru = &appsv1.RollingUpdateDeployment{MaxSurge: &zero, MaxUnavailable: &step}
	}
	return appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: ru}, minReady
}
