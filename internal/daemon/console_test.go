package daemon

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/berth-dev/berth/internal/console"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/store"
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

// The console's Diff compares two images of the daemon's store as berth
// diff does; an image not in the store is console.ErrNoImage.
func TestConsoleDiff(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var digests []string
	for i, name := range []string{"example.com/app:v1", "example.com/app:v2"} {
		img, err := random.Image(512, int64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		stored, err := st.Import(context.Background(), name, img)
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, stored.Digest)
	}
	p := consolePorts{st: st}
	r, err := p.Diff(context.Background(), digests[0], digests[1])
	if err != nil {
		t.Fatal(err)
	}
	if r.From != digests[0] || r.To != digests[1] || len(r.Files) == 0 {
		t.Errorf("diff %+v", r)
	}
	if _, err := p.Diff(context.Background(), digests[0], "sha256:"+strings.Repeat("0", 64)); !errors.Is(err, console.ErrNoImage) {
		t.Errorf("an image not in the store: %v", err)
	}
}
