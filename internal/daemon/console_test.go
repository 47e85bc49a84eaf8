package daemon

import (
	"slices"
	"testing"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/model"
)

func TestReplicaOf(t *testing.T) {
	c := engine.Container{Name: "shop-web-2", Replica: 2, State: engine.StateRunning, Health: "healthy", Restarts: 1, Image: "sha256:abc", Revision: 3,
		Ports: []model.PortMapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 53, ContainerPort: 53, Protocol: "udp"}, {HostIP: "::1", HostPort: 9, ContainerPort: 9, Protocol: "tcp"}}}
	r := replicaOf(c)
	if r.Name != "shop-web-2" || r.Replica != 2 || r.State != "running" || r.Health != "healthy" || r.Restarts != 1 || r.Digest != "sha256:abc" || r.Revision != 3 {
		t.Errorf("replica %+v", r)
	}
	if want := []string{"127.0.0.1:8080->80/tcp", "53->53/udp", "[::1]:9->9/tcp"}; !slices.Equal(r.Ports, want) {
		t.Errorf("ports %q, want %q", r.Ports, want)
	}
}
