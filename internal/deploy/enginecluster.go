package deploy

import (
	"context"
	"time"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/model"
)

// engineCluster is the Cluster of one stack on the real engine.
type engineCluster struct {
	eng   *engine.Engine
	stack string
}

func (c engineCluster) Replicas(service string) []Replica {
	var out []Replica
	for _, ct := range c.eng.ServiceContainers(c.stack, service) {
		out = append(out, Replica{ID: ct.ID, Slot: ct.Replica, Revision: ct.Revision})
	}
	return out
}

func (c engineCluster) Start(ctx context.Context, rev Revision, slot int) (string, error) {
	ct, err := c.eng.StartReplica(ctx, c.stack, rev.Spec, rev.Digest, slot, rev.Number)
	return ct.ID, err
}

func (c engineCluster) WaitReady(ctx context.Context, id string) error {
	return c.eng.WaitReady(ctx, id)
}

func (c engineCluster) Watch(ctx context.Context, id string, d time.Duration) error {
	return c.eng.Watch(ctx, id, d)
}

func (c engineCluster) Retire(ctx context.Context, id string) error {
	return c.eng.RemoveContainer(ctx, id)
}

func (c engineCluster) HasWritableVolumes(svc model.ServiceSpec) bool {
	for _, m := range svc.Mounts {
		if (m.Type == "volume" || m.Type == "bind") && !m.ReadOnly {
			return true
		}
	}
	return false
}
