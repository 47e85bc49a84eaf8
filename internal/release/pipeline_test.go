package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/stack"
)

// calls records every call the fakes get, in order.
type calls []string

func (c *calls) add(format string, a ...any) { *c = append(*c, fmt.Sprintf(format, a...)) }

func (c calls) with(prefix string) []string {
	var out []string
	for _, s := range c {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

type fakeBuilder struct {
	log    *calls
	images map[string]v1.Image // image/variant → what it builds
	fail   error
}

func (b *fakeBuilder) Build(_ context.Context, image, variant string) (v1.Image, error) {
	b.log.add("build %s/%s", image, variant)
	if b.fail != nil {
		return nil, b.fail
	}
	key := image + "/" + variant
	if b.images[key] == nil {
		img, err := random.Image(64, 1)
		if err != nil {
			return nil, err
		}
		b.images[key] = img
	}
	return b.images[key], nil
}

type fakeRegistry struct {
	log     *calls
	down    error
	written map[string]v1.Image
	tags    map[string]v1.Hash // ref → digest it names
}

func (r *fakeRegistry) Ping(_ context.Context, reg string) error {
	r.log.add("ping registry %s", reg)
	return r.down
}

func (r *fakeRegistry) Write(_ context.Context, img v1.Image, ref string) error {
	r.log.add("write %s", ref)
	r.written[ref] = img
	return nil
}

func (r *fakeRegistry) Resolve(_ context.Context, ref string) (v1.Hash, error) {
	r.log.add("resolve %s", ref)
	h, ok := r.tags[ref]
	if !ok {
		return v1.Hash{}, errors.New("no such image")
	}
	return h, nil
}

type fakeDaemon struct {
	log    *calls
	down   error
	states [][]engine.Container // what Containers answers, one per call (the last repeats)
}

func (d *fakeDaemon) Ping(context.Context) error {
	d.log.add("ping daemon")
	return d.down
}

func (d *fakeDaemon) Containers(_ context.Context, stack string) ([]engine.Container, error) {
	d.log.add("containers %s", stack)
	cs := d.states[0]
	if len(d.states) > 1 {
		d.states = d.states[1:]
	}
	return cs, nil
}

type fixture struct {
	log calls
	b   *fakeBuilder
	r   *fakeRegistry
	d   *fakeDaemon
	p   *Pipeline
}

func newFixture() *fixture {
	f := &fixture{}
	f.b = &fakeBuilder{log: &f.log, images: map[string]v1.Image{}}
	f.r = &fakeRegistry{log: &f.log, written: map[string]v1.Image{}, tags: map[string]v1.Hash{}}
	f.d = &fakeDaemon{log: &f.log}
	f.p = &Pipeline{
		Builder:  func() (Builder, error) { return f.b, nil },
		Registry: f.r, Daemon: f.d,
		LocalDir: func() (string, error) { return "/cache", nil },
		Progress: io.Discard,
	}
	return f
}

// shop has web and worker built from image app, web twice (a dev variant
// for debug), and db from a registry.
func shop() *stack.Stack {
	return &stack.Stack{Name: "shop", Files: []string{"/src/berth.yaml"}, Services: []stack.Service{
		{Name: "web", Build: &stack.Build{Image: "app"}, Replicas: 1},
		{Name: "worker", Build: &stack.Build{Image: "app"}, Replicas: 1},
		{Name: "debug", Build: &stack.Build{Image: "app", Variant: "dev"}, Replicas: 1},
		{Name: "db", Image: "postgres:16", Replicas: 1},
	}}
}

var targets = func() (map[string]stack.Target, error) {
	return map[string]stack.Target{
		"staging": {Env: "staging", Registry: "127.0.0.1:5001", Repository: "shop"},
		"local":   {Env: "local"},
	}, nil
}

func images(spec model.StackSpec) map[string]string {
	out := map[string]string{}
	for _, s := range spec.Services {
		out[s.Name] = s.Image
	}
	return out
}

// TestBuildsEachImageOnce: services sharing an image and variant share one
// build; a variant is a build of its own; images from a registry are not
// built. Locally built images go to the cache's layout.
func TestBuildsEachImageOnce(t *testing.T) {
	f := newFixture()
	spec, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Up})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.log.with("build"); strings.Join(got, ",") != "build app/,build app/dev" {
		t.Errorf("builds %q, want app once and app/dev once", got)
	}
	want := map[string]string{
		"web": "oci-layout:/cache/stack-images:app", "worker": "oci-layout:/cache/stack-images:app",
		"debug": "oci-layout:/cache/stack-images:app-dev", "db": "postgres:16",
	}
	if got := images(spec); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("images %v\nwant %v", got, want)
	}
	if f.log[0] != "ping daemon" {
		t.Errorf("first call %q, want the daemon check", f.log[0])
	}
}

// TestShipPinsPushedDigests: ship --env pushes each image under TAG (a
// variant under TAG-VARIANT) to the environment's registry and the
// services run repository@digest of what was pushed.
func TestShipPinsPushedDigests(t *testing.T) {
	f := newFixture()
	spec, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Ship, Env: "staging", Tag: "1.4.0", Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	app, dev := f.r.written["127.0.0.1:5001/shop/app:1.4.0"], f.r.written["127.0.0.1:5001/shop/app:1.4.0-dev"]
	if app == nil || dev == nil || len(f.r.written) != 2 {
		t.Fatalf("pushed %v", f.r.written)
	}
	appD, _ := app.Digest()
	devD, _ := dev.Digest()
	got := images(spec)
	if got["web"] != "127.0.0.1:5001/shop/app@"+appD.String() || got["worker"] != got["web"] {
		t.Errorf("web %s worker %s, want 127.0.0.1:5001/shop/app@%s", got["web"], got["worker"], appD)
	}
	if got["debug"] != "127.0.0.1:5001/shop/app@"+devD.String() {
		t.Errorf("debug %s", got["debug"])
	}
	want := []string{"ping daemon", "ping registry 127.0.0.1:5001", "build app/"}
	if strings.Join(f.log[:3], ",") != strings.Join(want, ",") {
		t.Errorf("calls %q, want first %q", f.log, want)
	}

	// Without --tag: latest.
	f = newFixture()
	if _, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Ship, Env: "staging", Targets: targets}); err != nil {
		t.Fatal(err)
	}
	if f.r.written["127.0.0.1:5001/shop/app:latest"] == nil {
		t.Errorf("pushed %v, want :latest", f.r.written)
	}
}

// TestDeployTagResolvesDigest: deploy --env --tag builds nothing and runs
// the digests the environment's registry holds under the tag.
func TestDeployTagResolvesDigest(t *testing.T) {
	f := newFixture()
	h1, _ := v1.NewHash("sha256:" + strings.Repeat("1", 64))
	h2, _ := v1.NewHash("sha256:" + strings.Repeat("2", 64))
	f.r.tags["127.0.0.1:5001/shop/app:2.0.0"] = h1
	f.r.tags["127.0.0.1:5001/shop/app:2.0.0-dev"] = h2
	spec, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Deploy, Env: "staging", Tag: "2.0.0", Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	if b := f.log.with("build"); len(b) > 0 {
		t.Errorf("deploy --tag built %v", b)
	}
	got := images(spec)
	if got["web"] != "127.0.0.1:5001/shop/app:2.0.0@"+h1.String() || got["worker"] != got["web"] ||
		got["debug"] != "127.0.0.1:5001/shop/app:2.0.0-dev@"+h2.String() || got["db"] != "postgres:16" {
		t.Errorf("images %v", got)
	}
	if r := f.log.with("resolve"); len(r) != 2 {
		t.Errorf("resolved %v, want each reference once", r)
	}

	// A tag the registry lacks names the service and the reference.
	f = newFixture()
	_, err = f.p.Prepare(context.Background(), shop(), Request{Mode: Deploy, Env: "staging", Tag: "9.9", Targets: targets})
	if err == nil || !strings.Contains(err.Error(), "service web: 127.0.0.1:5001/shop/app:9.9: no such image") {
		t.Errorf("missing tag: %v", err)
	}
}

// TestTagNeedsEnv: ship --tag and deploy --tag without --env are refused
// before anything is asked of the daemon, built or pushed.
func TestTagNeedsEnv(t *testing.T) {
	for _, m := range []Mode{Ship, Deploy} {
		f := newFixture()
		_, err := f.p.Prepare(context.Background(), shop(), Request{Mode: m, Tag: "1.0", Targets: targets})
		if err == nil || !strings.Contains(err.Error(), "--tag 1.0 needs --env NAME") {
			t.Errorf("mode %d: %v", m, err)
		}
		if len(f.log) > 0 {
			t.Errorf("mode %d: calls %v", m, f.log)
		}
	}
}

// TestEnvWithoutRegistry: an environment without a registry (or none of
// that name) is an error naming the file and the environment.
func TestEnvWithoutRegistry(t *testing.T) {
	for _, env := range []string{"local", "nowhere"} {
		for _, r := range []Request{{Mode: Ship, Env: env}, {Mode: Deploy, Env: env, Tag: "1"}} {
			r.Targets = targets
			f := newFixture()
			_, err := f.p.Prepare(context.Background(), shop(), r)
			want := "/src/berth.yaml: environments." + env + " has no registry"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%+v: %v, want %q", r, err, want)
			}
			if len(f.log) > 0 {
				t.Errorf("%+v: calls %v", r, f.log)
			}
		}
	}
}

// TestKubernetesEnvDeploysToCluster: deploy and ship to an environment
// with kubernetes: check the cluster (Pipeline.Cluster), never the local
// daemon; ship pushes to the environment's registry and pins digests as
// for any environment; deploy --tag pins what the registry holds; deploy
// without --tag of a service built from berth.yaml is refused before
// anything is built (a cluster cannot pull from this host's cache); and
// without a Cluster port the environment is refused as before.
func TestKubernetesEnvDeploysToCluster(t *testing.T) {
	k8s := func() (map[string]stack.Target, error) {
		return map[string]stack.Target{"k8s": {Env: "k8s", Registry: "127.0.0.1:5001", Repository: "shop", Kubernetes: &stack.Kubernetes{Namespace: "shop"}}}, nil
	}
	for _, r := range []Request{{Mode: Ship, Env: "k8s", Tag: "1"}, {Mode: Deploy, Env: "k8s", Tag: "1"}} {
		r.Targets = k8s
		f := newFixture()
		var checked []string
		f.p.Cluster = func(_ context.Context, t stack.Target) error { checked = append(checked, t.Env); return nil }
		if r.Mode == Deploy {
			f.r.tags["127.0.0.1:5001/shop/app:1"] = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
			f.r.tags["127.0.0.1:5001/shop/app:1-dev"] = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("b", 64)}
		}
		spec, err := f.p.Prepare(context.Background(), shop(), r)
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		if !reflect.DeepEqual(checked, []string{"k8s"}) || slices.Contains(f.log, "ping daemon") {
			t.Errorf("%+v: cluster checks %v, calls %v: want the cluster checked, not the daemon", r, checked, f.log)
		}
		if img := spec.Services[0].Image; !strings.HasPrefix(img, "127.0.0.1:5001/shop/app") || !strings.Contains(img, "@sha256:") {
			t.Errorf("%+v: web runs %q, want the environment registry's image by digest", r, img)
		}
	}

	f := newFixture()
	f.p.Cluster = func(context.Context, stack.Target) error { return errors.New("namespace \"shop\" does not exist") }
	if _, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Ship, Env: "k8s", Targets: k8s}); err == nil || !strings.Contains(err.Error(), "environments.k8s: namespace \"shop\" does not exist") {
		t.Errorf("cluster check failing: %v", err)
	}
	if len(f.r.written) > 0 {
		t.Errorf("cluster check failing: wrote %v", f.r.written)
	}

	f = newFixture()
	f.p.Cluster = func(context.Context, stack.Target) error { return nil }
	if _, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Deploy, Env: "k8s", Targets: k8s}); err == nil || !strings.Contains(err.Error(), "service web is built from berth.yaml, and environments.k8s is a Kubernetes cluster") {
		t.Errorf("deploy without --tag: %v", err)
	}
	if len(f.log) > 0 {
		t.Errorf("deploy without --tag: calls %v", f.log)
	}

	for _, r := range []Request{{Mode: Ship, Env: "k8s"}, {Mode: Deploy, Env: "k8s", Tag: "1"}} {
		r.Targets = k8s
		f := newFixture()
		_, err := f.p.Prepare(context.Background(), shop(), r)
		if err == nil || !strings.Contains(err.Error(), "environments.k8s is a Kubernetes cluster") {
			t.Errorf("no Cluster port, %+v: %v", r, err)
		}
		if len(f.log) > 0 {
			t.Errorf("no Cluster port, %+v: calls %v", r, f.log)
		}
	}
}

// TestBuildFailureNamesService: a failing build says which service's
// image it was, and nothing is written.
func TestBuildFailureNamesService(t *testing.T) {
	f := newFixture()
	f.b.fail = errors.New("layer debs: no package curl")
	_, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Ship, Env: "staging", Targets: targets})
	if err == nil || err.Error() != "service web: layer debs: no package curl" {
		t.Errorf("error %v", err)
	}
	if len(f.r.written) > 0 {
		t.Errorf("wrote %v", f.r.written)
	}
}

// TestNothingPushedWhenDaemonDown: the daemon is checked first; when it
// does not answer nothing is built, pushed, or even asked of the registry
// (ship --env staging used to move staging's tag, then say "no berth
// daemon"). Likewise an unreachable registry stops the pipeline before it
// builds.
func TestNothingPushedWhenDaemonDown(t *testing.T) {
	for _, m := range []Mode{Up, Ship, Deploy} {
		f := newFixture()
		f.d.down = errors.New("no berth daemon on /run/berth/berth.sock")
		_, err := f.p.Prepare(context.Background(), shop(), Request{Mode: m, Env: "staging", Targets: targets})
		if err == nil || !strings.Contains(err.Error(), "no berth daemon") {
			t.Errorf("mode %d: %v", m, err)
		}
		if strings.Join(f.log, ",") != "ping daemon" {
			t.Errorf("mode %d: calls %v, want only the daemon check", m, f.log)
		}
	}

	f := newFixture()
	f.r.down = errors.New("cannot reach registry 127.0.0.1:5001: connection refused")
	_, err := f.p.Prepare(context.Background(), shop(), Request{Mode: Ship, Env: "staging", Targets: targets})
	if err == nil || !strings.Contains(err.Error(), "environments.staging.registry 127.0.0.1:5001: cannot reach") {
		t.Errorf("registry down: %v", err)
	}
	if strings.Join(f.log, ",") != "ping daemon,ping registry 127.0.0.1:5001" {
		t.Errorf("registry down: calls %v", f.log)
	}
}

// TestDockerfileBuildRefused: build: with a Dockerfile context is refused
// naming the service, as before.
func TestDockerfileBuildRefused(t *testing.T) {
	f := newFixture()
	st := &stack.Stack{Name: "x", Files: []string{"compose.yaml"}, Services: []stack.Service{{Name: "api", Build: &stack.Build{Context: "."}}}}
	_, err := f.p.Prepare(context.Background(), st, Request{Mode: Up})
	if err == nil || !strings.HasPrefix(err.Error(), "service api: build: a Dockerfile context is not supported") {
		t.Errorf("error %v", err)
	}
}
