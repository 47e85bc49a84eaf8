package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/engine/health"
	"github.com/berth-dev/berth/internal/model"
)

// The fakes below stand in for the three ports so the orchestration logic
// can be tested alone; the ports have their own tests on real runc, CNI
// and overlayfs.

type fakeImages struct{}

func (fakeImages) Resolve(_ context.Context, ref string) (ImageInfo, error) {
	if ref == "missing" {
		return ImageInfo{}, errors.New("manifest unknown")
	}
	if ref == "quits" || ref == "sha256:quits" { // an image with STOPSIGNAL SIGQUIT
		return ImageInfo{Digest: "sha256:quits", Cmd: []string{"/app"}, StopSignal: syscall.SIGQUIT}, nil
	}
	return ImageInfo{Digest: "sha256:" + ref, Cmd: []string{"/app"}, Env: []string{"PATH=/bin"}}, nil
}
func (fakeImages) Rootfs(_ context.Context, _ string, dir string) (string, error) {
	p := filepath.Join(dir, "rootfs")
	return p, os.MkdirAll(p, 0o755)
}
func (fakeImages) ReleaseRootfs(dir string) error { return os.RemoveAll(filepath.Join(dir, "rootfs")) }

type fakeContainer struct {
	exit    chan Exit
	started time.Time
}

type fakeRuntime struct {
	mu        sync.Mutex
	running   map[string]*fakeContainer
	starts    map[string][]time.Time // by container name
	execCode  int                    // what health-check execs return
	exitCode  map[string]int         // by service: exit right after start with this code
	deleted   int
	startErrs int
	execIO    func(ctx context.Context, id string, o ExecIO) (int, error) // berth exec; nil: exits 0
	kills     map[string][]syscall.Signal                                 // by container ID, in order
	stats     func(id string) (Stats, error)                              // nil: zeros
	ignoreSig syscall.Signal                                              // a signal the containers ignore (0: none)
}

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{running: map[string]*fakeContainer{}, starts: map[string][]time.Time{}, exitCode: map[string]int{}}
}

func (r *fakeRuntime) Start(_ context.Context, c ContainerConfig) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	fc := &fakeContainer{exit: make(chan Exit, 1), started: time.Now()}
	r.running[c.ID] = fc
	r.starts[c.Name] = append(r.starts[c.Name], time.Now())
	if code, ok := r.exitCode[c.Service.Name]; ok {
		fc.exit <- Exit{Code: code, StartedAt: fc.started, FinishedAt: time.Now()}
	}
	return nil
}
func (r *fakeRuntime) Wait(ctx context.Context, id string) (Exit, error) {
	r.mu.Lock()
	fc := r.running[id]
	r.mu.Unlock()
	if fc == nil {
		return Exit{}, fmt.Errorf("no container %s", id)
	}
	select {
	case x := <-fc.exit:
		return x, nil
	case <-ctx.Done():
		return Exit{}, ctx.Err()
	}
}
func (r *fakeRuntime) Kill(id string, sig syscall.Signal) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kills == nil {
		r.kills = map[string][]syscall.Signal{}
	}
	r.kills[id] = append(r.kills[id], sig)
	if fc := r.running[id]; fc != nil && (r.ignoreSig == 0 || sig != r.ignoreSig) {
		select {
		case fc.exit <- Exit{Code: 128 + int(sig), StartedAt: fc.started, FinishedAt: time.Now()}:
		default:
		}
	}
	return nil
}
func (r *fakeRuntime) Delete(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.running, id)
	r.deleted++
	return nil
}
func (r *fakeRuntime) Exec(_ context.Context, id string, _ []string) (int, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.execCode, "", nil
}
func (r *fakeRuntime) Running(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running[id] != nil
}
func (r *fakeRuntime) setExec(code int) {
	r.mu.Lock()
	r.execCode = code
	r.mu.Unlock()
}

type fakeNets struct {
	mu       sync.Mutex
	next     byte
	netns    map[string]bool
	attached map[string]bool
	nets     map[string]bool
	failPort int
}

func newFakeNets() *fakeNets {
	return &fakeNets{next: 2, netns: map[string]bool{}, attached: map[string]bool{}, nets: map[string]bool{}}
}

// dnsNames is what the stack's DNS zone answers for name now.
func dnsNames(e *Engine, stack, name string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, z := range e.dnsZonesLocked() {
		if z.Domain == stack {
			return z.Names[name]
		}
	}
	return nil
}

func (n *fakeNets) Ensure(_ context.Context, name string) (net.IP, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nets[name] = true
	return net.IPv4(10, 89, 0, 1), nil
}
func (n *fakeNets) CreateNetNS(id string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.netns[id] = true
	return "/run/berth/netns/" + id, nil
}
func (n *fakeNets) DeleteNetNS(id string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.netns, id)
	return nil
}
func (n *fakeNets) Attach(_ context.Context, _, id, _ string, ports []model.PortMapping) (net.IP, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range ports {
		if n.failPort > 0 && p.HostPort == n.failPort {
			return nil, fmt.Errorf("port %d is already in use", p.HostPort)
		}
	}
	n.attached[id] = true
	n.next++
	return net.IPv4(10, 89, 0, n.next), nil
}
func (n *fakeNets) Detach(_ context.Context, _, id, _ string, _ []model.PortMapping) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.attached, id)
	return nil
}
func (n *fakeNets) Remove(_ context.Context, name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.nets, name)
	return nil
}

func newTestEngine(t *testing.T, root string, rt *fakeRuntime, nets *fakeNets) *Engine {
	t.Helper()
	e, err := New(root, fakeImages{}, rt, nets, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}

func TestUpDependsOnHealthyAndDNSNames(t *testing.T) {
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	spec := model.StackSpec{Name: "shop", Services: []model.ServiceSpec{
		{Name: "db", Image: "db", Replicas: 1, Health: &model.HealthCheck{Test: []string{"CMD", "ok"}, Interval: 10 * time.Millisecond}},
		{Name: "app", Image: "app", Replicas: 2, DependsOn: map[string]string{"db": "service_healthy"},
			Ports: []model.PortMapping{{HostIP: "127.0.0.1", HostPort: 0, ContainerPort: 8080}}},
	}}
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	cs := e.Containers("shop")
	if len(cs) != 3 || cs[0].Name != "shop-app-1" || cs[1].Name != "shop-app-2" || cs[2].Name != "shop-db-1" {
		t.Fatalf("containers: %+v", cs)
	}
	if got := dnsNames(e, "shop", "db"); len(got) != 1 || got[0] != cs[2].IP {
		t.Fatalf("DNS names of db = %v, want %s", got, cs[2].IP)
	}
	if got := dnsNames(e, "shop", "app"); len(got) != 2 {
		t.Fatalf("DNS names of app = %v", got)
	}
	if got := dnsNames(e, "shop", "shop-app-2"); len(got) != 1 || got[0] != cs[1].IP {
		t.Fatalf("DNS names of shop-app-2 = %v, want %s", got, cs[1].IP)
	}
	// Up again with nothing changed creates nothing.
	before := len(rt.starts)
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if n := len(e.Containers("shop")); n != 3 || len(rt.starts) != before {
		t.Fatalf("second up: %d containers, %d names started (was %d)", n, len(rt.starts), before)
	}
	// Scale down and a new image replace and remove containers.
	spec.Services[1].Replicas = 1
	spec.Services[1].Image = "app2"
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	cs = e.Containers("shop")
	if len(cs) != 2 || cs[0].Image != "sha256:app2" {
		t.Fatalf("after scale/update: %+v", cs)
	}
}

func TestCrashRestartsWithGrowingBackoff(t *testing.T) {
	rt, nets := newFakeRuntime(), newFakeNets()
	rt.exitCode["crashy"] = 1
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	spec := model.StackSpec{Name: "s", Services: []model.ServiceSpec{{Name: "crashy", Image: "x", Restart: model.RestartPolicy{Mode: model.RestartAlways}}}}
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	eventually(t, "four starts", func() bool {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		return len(rt.starts["s-crashy-1"]) >= 4
	})
	rt.mu.Lock()
	ts := rt.starts["s-crashy-1"]
	rt.mu.Unlock()
	var gaps []time.Duration
	for i := 1; i < 4; i++ {
		gaps = append(gaps, ts[i].Sub(ts[i-1]))
	}
	if !(gaps[0] >= 100*time.Millisecond && gaps[1] >= 200*time.Millisecond && gaps[2] >= 400*time.Millisecond && gaps[2] > gaps[0]) {
		t.Fatalf("restart gaps %v, want ≥100ms, ≥200ms, ≥400ms", gaps)
	}
	if c := e.Containers("s")[0]; c.Restarts < 3 || c.ExitCode != 1 {
		t.Fatalf("record: %+v", c)
	}
}

func TestUnhealthyContainerIsReplaced(t *testing.T) {
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	spec := model.StackSpec{Name: "s", Services: []model.ServiceSpec{{Name: "web", Image: "x",
		Health: &model.HealthCheck{Test: []string{"CMD", "check"}, Interval: 10 * time.Millisecond, Retries: 2}}}}
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	eventually(t, "healthy", func() bool { return e.Containers("s")[0].Health == health.Healthy })
	rt.setExec(1)
	eventually(t, "a replacement start", func() bool { return e.Containers("s")[0].Restarts >= 1 })
	if got := dnsNames(e, "s", "web"); len(got) != 0 {
		t.Fatalf("unhealthy replica still in DNS: %v", got)
	}
	rt.setExec(0)
	eventually(t, "healthy again", func() bool { return e.Containers("s")[0].Health == health.Healthy })
}

func TestDaemonRestartReadopts(t *testing.T) {
	root := t.TempDir()
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, root, rt, nets)
	spec := model.StackSpec{Name: "s", Services: []model.ServiceSpec{{Name: "web", Image: "x", Replicas: 2, Restart: model.RestartPolicy{Mode: model.RestartAlways}}}}
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	before := e.Containers("s")
	e.Close() // the daemon goes away; the (fake) containers keep running

	e2 := newTestEngine(t, root, rt, nets)
	defer e2.Close()
	after := e2.Containers("s")
	if len(after) != 2 {
		t.Fatalf("after restart: %+v", after)
	}
	for i := range after {
		if after[i].ID != before[i].ID || after[i].Restarts != 0 || after[i].State != StateRunning {
			t.Fatalf("container %d changed across a daemon restart: %+v vs %+v", i, before[i], after[i])
		}
	}
	rt.mu.Lock()
	n := len(rt.starts["s-web-1"])
	rt.mu.Unlock()
	if n != 1 {
		t.Fatalf("s-web-1 started %d times", n)
	}
}

func TestDownRemovesEverythingAndFailedCreateLeavesNothing(t *testing.T) {
	root := t.TempDir()
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, root, rt, nets)
	defer e.Close()
	nets.failPort = 8080
	// UDP: CNI publishes it (TCP ports go to the proxy, routing_test.go).
	spec := model.StackSpec{Name: "s", Services: []model.ServiceSpec{{Name: "web", Image: "x", Ports: []model.PortMapping{{HostPort: 8080, ContainerPort: 80, Protocol: "udp"}}}}}
	err := e.Up(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), "port 8080 is already in use") || len(e.Containers("s")) != 0 {
		t.Fatalf("up with a taken port: %v, %d containers", err, len(e.Containers("s")))
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "containers")); len(entries) != 0 || len(nets.netns) != 0 {
		t.Fatalf("half-created state left: %d dirs, netns %v", len(entries), nets.netns)
	}
	if err := e.Up(context.Background(), model.StackSpec{Name: "s", Services: []model.ServiceSpec{{Name: "web", Image: "missing"}}}); err == nil {
		t.Fatal("unknown image accepted")
	}
	nets.failPort = 0
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if err := e.Down(context.Background(), "s", true); err != nil {
		t.Fatal(err)
	}
	if len(e.Containers("s")) != 0 || len(nets.netns) != 0 || len(nets.attached) != 0 || nets.nets["s"] || len(rt.running) != 0 {
		t.Fatalf("down left: containers %d netns %v attached %v nets %v running %d",
			len(e.Containers("s")), nets.netns, nets.attached, nets.nets, len(rt.running))
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "containers")); len(entries) != 0 {
		t.Fatalf("container dirs left: %d", len(entries))
	}
}

func (r *fakeRuntime) ExecIO(ctx context.Context, id string, o ExecIO) (int, error) {
	if r.execIO == nil {
		return 0, nil
	}
	return r.execIO(ctx, id, o)
}
func (r *fakeRuntime) Stats(id string) (Stats, error) {
	if r.stats == nil {
		return Stats{}, nil
	}
	return r.stats(id)
}

func (fakeImages) Pull(ctx context.Context, ref string) (ImageInfo, error) {
	return fakeImages{}.Resolve(ctx, ref)
}
func (fakeImages) List() ([]ImageSummary, error) { return nil, nil }
func (fakeImages) Remove(string, bool) error     { return nil }

// failingRootfs is fakeImages whose rootfs mount fails.
type failingRootfs struct{ fakeImages }

func (failingRootfs) Rootfs(context.Context, string, string) (string, error) {
	return "", errors.New("overlay: no space left on device")
}

// The rootfs mount and the network are set up at once: when the mount
// fails, the network the container got meanwhile is given back too.
func TestFailedRootfsUndoesTheNetwork(t *testing.T) {
	root := t.TempDir()
	rt, nets := newFakeRuntime(), newFakeNets()
	e, err := New(root, failingRootfs{}, rt, nets, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	err = e.Up(context.Background(), model.StackSpec{Name: "s", Services: []model.ServiceSpec{{Name: "web", Image: "x", Replicas: 2}}})
	if err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("up with a failing rootfs: %v", err)
	}
	nets.mu.Lock()
	defer nets.mu.Unlock()
	if len(nets.attached) != 0 || len(nets.netns) != 0 || len(rt.running) != 0 {
		t.Fatalf("left behind: attached %v netns %v running %d", nets.attached, nets.netns, len(rt.running))
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "containers")); len(entries) != 0 {
		t.Fatalf("container dirs left: %d", len(entries))
	}
}

// The image's STOPSIGNAL stops its containers unless the service sets
// stop_signal; with neither, SIGTERM.
func TestStopSignalImageThenServiceThenTerm(t *testing.T) {
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	spec := model.StackSpec{Name: "sig", Services: []model.ServiceSpec{
		{Name: "image", Image: "quits", Replicas: 1},
		{Name: "service", Image: "quits", Replicas: 1, StopSignal: syscall.SIGUSR2},
		{Name: "plain", Image: "x", Replicas: 1},
	}}
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, c := range e.Containers("sig") {
		ids[c.Service] = c.ID
	}
	if err := e.Down(context.Background(), "sig", true); err != nil {
		t.Fatal(err)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for svc, want := range map[string]syscall.Signal{"image": syscall.SIGQUIT, "service": syscall.SIGUSR2, "plain": syscall.SIGTERM} {
		if got := rt.kills[ids[svc]]; len(got) == 0 || got[0] != want {
			t.Errorf("%s: signals sent %v, want %v first", svc, got, want)
		}
	}
}
