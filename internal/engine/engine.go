package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/proxy"

	"github.com/berth-dev/berth/internal/engine/health"
	"github.com/berth-dev/berth/internal/engine/restart"
)

// Container is the engine's record of one container (persisted as
// containers/<id>/container.json, so a restarted daemon knows its
// containers).
type Container struct {
	ID      string `json:"id"`
	Name    string `json:"name"` // <stack>-<service>-<replica>
	Stack   string `json:"stack"`
	Service string `json:"service"`
	Replica int    `json:"replica"`
	// Revision is the deploy revision the container runs (berth deploy);
	// 0 for containers of berth up.
	Revision   int                 `json:"revision,omitempty"`
	Image      string              `json:"image"` // digest
	ConfigHash string              `json:"configHash"`
	IP         string              `json:"ip,omitempty"`
	NetNS      string              `json:"netns,omitempty"`
	Rootfs     string              `json:"rootfs"`
	State      string              `json:"state"` // running, restarting, exited, removing
	Health     health.Status       `json:"health,omitempty"`
	Restarts   int                 `json:"restarts"`
	ExitCode   int                 `json:"exitCode"`
	OOMKilled  bool                `json:"oomKilled"`
	StartedAt  time.Time           `json:"startedAt"`
	FinishedAt time.Time           `json:"finishedAt,omitzero"`
	Ports      []model.PortMapping `json:"ports,omitempty"`
	Spec       model.ServiceSpec   `json:"spec"`
	// StopSignal stops the container: the service's stop_signal, else the
	// image's STOPSIGNAL, else SIGTERM (resolved when it was created).
	StopSignal syscall.Signal `json:"stopSignal,omitempty"`
}

// Container states.
const (
	StateRunning    = "running"
	StateRestarting = "restarting"
	StateExited     = "exited"
	StateRemoving   = "removing"
)

// Stopped tells a container that has exited (berth ps lists those only
// with -a, as compose does).
func (c Container) Stopped() bool { return c.State == StateExited }

// Engine is the orchestrator.
type Engine struct {
	root   string
	images Images
	rt     Runtime
	nets   Networks
	log    *slog.Logger

	mu         sync.Mutex
	containers map[string]*managed        // by ID
	gateways   map[string]string          // stack → its network's gateway (DNS server)
	stacks     map[string]model.StackSpec // stack → the spec it was last brought up with (stacks.go)

	router    Router
	acme      *proxy.ACME // the daemon's ACME settings for tls: auto; nil: none (routing.go)
	routeMu   sync.Mutex  // serialises pushes to the router
	appliedMu sync.Mutex  // guards applied and appliedShape
	applied   []byte      // the routing the router last accepted, as JSON
	// appliedShape is applied without the DNS names (routingShape); when
	// only names changed, namePusher pushes in the background.
	appliedShape []byte
	namePushOnce sync.Once
	namePush     chan struct{} // a kick for namePusher
	closed       chan struct{} // closed by Close
	closeOnce    sync.Once
	routeSpecs   map[string]map[string]model.ServiceSpec // stack → service → what it publishes (routing.go)
}

// managed is a container with its supervision state (not persisted).
type managed struct {
	Container
	tracker   restart.Tracker
	stopping  bool // stopped on purpose: no restart
	unhealthy bool // killed for failing its health check: replace
	retiring  bool // out of the proxy's rotation, draining before removal
	cancel    context.CancelFunc
	done      chan struct{}
}

// New returns an engine over root (containers/ and stacks/ are kept there)
// and re-adopts the containers an earlier daemon left running.
func New(root string, images Images, rt Runtime, nets Networks, log *slog.Logger) (*Engine, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	e := &Engine{root: root, images: images, rt: rt, nets: nets, log: log, containers: map[string]*managed{}, gateways: map[string]string{}, stacks: map[string]model.StackSpec{}, routeSpecs: map[string]map[string]model.ServiceSpec{}, closed: make(chan struct{})}
	if err := os.MkdirAll(e.containersDir(), 0o700); err != nil {
		return nil, err
	}
	if err := e.loadStacks(); err != nil {
		return nil, err
	}
	return e, e.adopt()
}

func (e *Engine) containersDir() string { return filepath.Join(e.root, "containers") }

// adopt loads container records and supervises them again. Running
// containers are left alone (their supervisors kept them running while no
// daemon was there); exited ones go through their restart policy.
func (e *Engine) adopt() error {
	entries, err := os.ReadDir(e.containersDir())
	if err != nil {
		return err
	}
	for _, de := range entries {
		c, err := e.loadContainer(filepath.Join(e.containersDir(), de.Name()))
		if err != nil {
			continue // a half-created container: its directory is cleaned by Down or prune
		}
		m := &managed{Container: c}
		m.tracker.Policy = c.Spec.Restart
		e.containers[c.ID] = m
		if c.State == StateRunning || c.State == StateRestarting {
			e.supervise(m, e.rt.Running(c.ID))
		}
	}
	e.initRouteSpecs()
	return nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// configHash identifies what a container runs: a change means replace it.
func configHash(s model.ServiceSpec, digest string) string {
	s.Replicas = 0 // scaling does not replace containers
	s.Proxy, s.Update, s.Rollback = nil, nil, nil
	raw, _ := json.Marshal(struct {
		S model.ServiceSpec
		D string
	}{s, digest})
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:12])
}

// Up makes the stack's containers match spec: creates missing replicas,
// replaces those whose configuration or image changed, removes surplus ones,
// starting services in dependency order and waiting for depends_on
// conditions.
func (e *Engine) Up(ctx context.Context, spec model.StackSpec) (err error) {
	for _, name := range spec.Only {
		if !slices.ContainsFunc(spec.Services, func(s model.ServiceSpec) bool { return s.Name == name }) {
			return fmt.Errorf("only: no service %q in stack %s", name, spec.Name)
		}
	}
	// Every image first: an unknown one fails the stack before anything
	// of it is created.
	imgs := make([]ImageInfo, len(spec.Services))
	for i, svc := range spec.Services {
		if imgs[i], err = e.images.Resolve(ctx, svc.Image); err != nil {
			return fmt.Errorf("service %s: image %s: %w", svc.Name, svc.Image, err)
		}
	}
	if err := e.ensureNetwork(ctx, spec.Name); err != nil {
		return err
	}
	// The proxy listens on the published ports first: a port that is
	// taken fails the stack before any container exists.
	prev := e.routeSpecsOf(spec.Name)
	e.setRouteSpecs(spec.Name, spec.Services)
	if err := e.syncRoutes(ctx); err != nil {
		e.restoreRouteSpecs(spec.Name, prev)
		e.resync()
		if len(e.Containers(spec.Name)) == 0 {
			_ = e.nets.Remove(context.WithoutCancel(ctx), spec.Name)
			e.mu.Lock()
			delete(e.gateways, spec.Name)
			e.mu.Unlock()
		}
		return err
	}
	defer func() {
		// A stack that failed before any of its containers existed leaves
		// no network (nor DNS server) behind.
		if err != nil && len(e.Containers(spec.Name)) == 0 {
			if rerr := e.nets.Remove(context.WithoutCancel(ctx), spec.Name); rerr != nil {
				err = errors.Join(err, fmt.Errorf("removing the network of stack %s: %w", spec.Name, rerr))
			}
			e.mu.Lock()
			delete(e.gateways, spec.Name)
			e.mu.Unlock()
			e.restoreRouteSpecs(spec.Name, prev)
			e.resync()
		}
	}()
	// Services start concurrently, each as soon as what it depends on is
	// up (and its depends_on condition holds): independent services do not
	// wait for each other.
	done := make(map[string]chan struct{}, len(spec.Services))
	for _, svc := range spec.Services {
		done[svc.Name] = make(chan struct{})
	}
	errs := make([]error, len(spec.Services))
	failed := func(name string) bool {
		for i, s := range spec.Services {
			if s.Name == name {
				return errs[i] != nil
			}
		}
		return false
	}
	var wg sync.WaitGroup
	for i, svc := range spec.Services {
		if len(spec.Only) > 0 && !slices.Contains(spec.Only, svc.Name) {
			close(done[svc.Name]) // left as it is
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[svc.Name])
			wait := svc // its dependencies that did not fail
			wait.DependsOn = map[string]string{}
			for dep, cond := range svc.DependsOn {
				if ch, ok := done[dep]; ok {
					<-ch
					if failed(dep) {
						if slices.Contains(svc.OptionalDeps, dep) {
							continue // required: false
						}
						errs[i] = fmt.Errorf("service %s: not started: it depends on %s, which failed", svc.Name, dep)
						return
					}
				}
				wait.DependsOn[dep] = cond
			}
			if err := e.waitDependencies(ctx, spec.Name, wait); err != nil {
				errs[i] = err
				return
			}
			if err := e.upService(ctx, spec.Name, svc, imgs[i]); err != nil {
				errs[i] = fmt.Errorf("service %s: %w", svc.Name, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	spec.Only = nil // the record is the whole stack
	return e.rememberStack(spec)
}

// ensureNetwork creates (or finds) the stack's network and remembers its
// gateway, which is also the containers' DNS server.
func (e *Engine) ensureNetwork(ctx context.Context, stack string) error {
	gw, err := e.nets.Ensure(ctx, stack)
	if err != nil {
		return fmt.Errorf("network for stack %s: %w", stack, err)
	}
	e.mu.Lock()
	e.gateways[stack] = gw.String()
	e.mu.Unlock()
	return nil
}

// Restore brings back what a restarted daemon needs for the stacks its
// adopted containers belong to (their networks' DNS servers).
func (e *Engine) Restore(ctx context.Context) error {
	stacks := map[string]bool{}
	e.mu.Lock()
	for _, m := range e.containers {
		stacks[m.Stack] = true
	}
	e.mu.Unlock()
	var errs []error
	for s := range stacks {
		errs = append(errs, e.ensureNetwork(ctx, s))
	}
	return errors.Join(errs...)
}

func (e *Engine) upService(ctx context.Context, stack string, svc model.ServiceSpec, img ImageInfo) error {
	replicas := svc.Replicas
	if replicas <= 0 {
		replicas = 1
	}
	hash := configHash(svc, img.Digest)
	existing := e.byService(stack, svc.Name)
	// New replicas of an unchanged service (scale) carry the deploy
	// revision their siblings run.
	revision := 0
	for _, m := range existing {
		if m.ConfigHash == hash {
			revision = max(revision, m.Revision)
		}
	}
	// Replicas are created concurrently; each is independent.
	errs := make([]error, replicas+1)
	var wg sync.WaitGroup
	for n := 1; n <= replicas; n++ {
		old := existing[n]
		if old != nil && old.ConfigHash == hash && old.State != StateExited {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if old != nil {
				if err := e.remove(ctx, old.ID); err != nil {
					errs[n] = err
					return
				}
			}
			_, errs[n] = e.createRevision(ctx, stack, svc, img, n, revision, hash)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for n, old := range existing {
		if n > replicas {
			if err := e.remove(ctx, old.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// byService returns the service's containers by replica number.
func (e *Engine) byService(stack, service string) map[int]*managed {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[int]*managed{}
	for _, m := range e.containers {
		if m.Stack != stack || m.Service != service || m.State == StateRemoving || m.retiring {
			continue
		}
		// During a rollout a slot has an old and a new container: the
		// newer revision is the slot's.
		if o := out[m.Replica]; o == nil || m.Revision > o.Revision {
			out[m.Replica] = m
		}
	}
	return out
}

// create sets up and starts one container. On any failure everything set
// up so far is undone: nothing half-created stays.
func (e *Engine) create(ctx context.Context, stack string, svc model.ServiceSpec, img ImageInfo, replica int, hash string) (_ *managed, err error) {
	return e.createRevision(ctx, stack, svc, img, replica, 0, hash)
}

func (e *Engine) createRevision(ctx context.Context, stack string, svc model.ServiceSpec, img ImageInfo, replica, revision int, hash string) (_ *managed, err error) {
	c := Container{
		ID: newID(), Name: fmt.Sprintf("%s-%s-%d", stack, svc.Name, replica), Stack: stack, Service: svc.Name,
		Replica: replica, Revision: revision, Image: img.Digest, ConfigHash: hash, Spec: svc, Ports: svc.Ports,
	}
	c.StopSignal = svc.StopSignal
	if c.StopSignal == 0 {
		c.StopSignal = img.StopSignal
	}
	if c.StopSignal == 0 {
		c.StopSignal = syscall.SIGTERM
	}
	dir := filepath.Join(e.containersDir(), c.ID)
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
			os.RemoveAll(dir)
		}
	}()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// The rootfs mount and the network (a pooled namespace, or a CNI ADD)
	// do not depend on each other: both at once.
	var (
		netns   string
		ip      net.IP
		netErr  error
		netDone = make(chan struct{})
	)
	nsMade := false
	go func() {
		defer close(netDone)
		if netns, netErr = e.nets.CreateNetNS(c.ID); netErr != nil {
			return
		}
		nsMade = true
		ip, netErr = e.nets.Attach(ctx, stack, c.ID, netns, cniPorts(svc.Ports))
	}()
	rootfs, rootErr := e.images.Rootfs(ctx, img.Digest, dir)
	<-netDone
	if rootErr == nil {
		undo = append(undo, func() { _ = e.images.ReleaseRootfs(dir) })
	}
	if nsMade {
		undo = append(undo, func() { _ = e.nets.DeleteNetNS(c.ID) })
	}
	if nsMade && netErr == nil {
		undo = append(undo, func() { _ = e.nets.Detach(context.Background(), stack, c.ID, netns, cniPorts(svc.Ports)) })
	}
	if err := errors.Join(rootErr, netErr); err != nil {
		return nil, err
	}
	c.Rootfs, c.NetNS, c.IP = rootfs, netns, ip.String()

	cfg := containerConfig(c, svc, img, rootfs, dir)
	cfg.Nameserver, cfg.IP = e.gateway(stack), c.IP
	if err := e.rt.Start(ctx, cfg); err != nil {
		return nil, err
	}
	undo = append(undo, func() { _ = e.rt.Kill(c.ID, syscall.SIGKILL); _ = e.rt.Delete(c.ID) })
	c.State, c.StartedAt = StateRunning, time.Now().UTC()
	if svc.Health != nil || img.Healthcheck != nil {
		c.Health = health.Starting
	}
	if err := e.save(c); err != nil {
		return nil, err
	}
	m := &managed{Container: c}
	m.tracker.Policy = svc.Restart
	e.mu.Lock()
	e.containers[c.ID] = m
	e.mu.Unlock()
	e.supervise(m, true)
	e.resync()
	return m, nil
}

// containerConfig merges the service over the image's config, as Docker
// does: entrypoint/command replace, environment adds.
func containerConfig(c Container, svc model.ServiceSpec, img ImageInfo, rootfs, dir string) ContainerConfig {
	entry := img.Entrypoint
	cmd := img.Cmd
	if svc.Entrypoint != nil {
		entry, cmd = svc.Entrypoint, nil
	}
	if svc.Command != nil {
		cmd = svc.Command
	}
	env := append([]string(nil), img.Env...)
	keys := make([]string, 0, len(svc.Env))
	for k := range svc.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = setEnv(env, k, svc.Env[k])
	}
	user, cwd := img.User, img.WorkingDir
	if svc.User != "" {
		user = svc.User
	}
	if svc.WorkingDir != "" {
		cwd = svc.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	hostname := c.Name
	if svc.Hostname != "" {
		hostname = svc.Hostname
	}
	return ContainerConfig{
		ID: c.ID, Name: c.Name, Rootfs: rootfs, Args: append(append([]string(nil), entry...), cmd...), Env: env,
		User: user, Cwd: cwd, Hostname: hostname, NetNS: c.NetNS, Mounts: svc.Mounts, Secrets: svc.Secrets,
		Configs: svc.Configs, Service: svc, Dir: dir,
	}
}

func setEnv(env []string, k, v string) []string {
	for i, kv := range env {
		if strings.HasPrefix(kv, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

// supervise watches one container: its exit (restart by policy, with
// backoff) and its health (replace when unhealthy).
func (e *Engine) supervise(m *managed, running bool) {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel, m.done = cancel, make(chan struct{})
	go func() {
		defer close(m.done)
		for {
			if !running {
				running = e.restartNow(ctx, m, restart.Exit{Code: m.ExitCode, OOMKilled: m.OOMKilled})
				if !running {
					return
				}
			}
			hctx, stopHealth := context.WithCancel(ctx)
			if check := e.healthCheck(m); check != nil {
				mon := health.NewMonitor(*check, target{e: e, m: m}, func(s health.Status) { e.onHealth(m, s) })
				go mon.Run(hctx)
			}
			exit, err := e.rt.Wait(ctx, m.ID)
			stopHealth()
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				e.log.Error("waiting for container", "container", m.Name, "err", err)
				exit = Exit{Code: -1, FinishedAt: time.Now()}
			}
			e.mu.Lock()
			m.ExitCode, m.OOMKilled, m.FinishedAt = exit.Code, exit.OOMKilled, exit.FinishedAt.UTC()
			if m.State == StateRunning {
				m.State = StateRestarting // out of rotation at once
			}
			e.mu.Unlock()
			e.resync()
			running = false
			ran := exit.FinishedAt.Sub(m.StartedAt)
			if !e.restartNow(ctx, m, restart.Exit{Code: exit.Code, OOMKilled: exit.OOMKilled, Ran: ran}) {
				return
			}
			running = true
		}
	}()
}

// restartNow applies the restart policy after an exit; it returns whether
// the container runs again.
func (e *Engine) restartNow(ctx context.Context, m *managed, x restart.Exit) bool {
	e.mu.Lock()
	x.Stopped, x.Unhealthy = m.stopping, m.unhealthy
	ok, delay := m.tracker.Next(x)
	if !ok {
		m.State = StateExited
		c := m.Container
		e.mu.Unlock()
		_ = e.save(c)
		return false
	}
	m.State = StateRestarting
	c := m.Container
	e.mu.Unlock()
	_ = e.save(c)
	e.log.Info("restarting container", "container", m.Name, "exit_code", x.Code, "oom_killed", x.OOMKilled, "delay", delay)
	select {
	case <-ctx.Done():
		return false
	case <-time.After(delay):
	}
	_ = e.rt.Delete(m.ID)
	cfg := containerConfig(m.Container, m.Spec, e.imageInfoOf(ctx, m), m.Rootfs, filepath.Join(e.containersDir(), m.ID))
	cfg.Nameserver, cfg.IP = e.gateway(m.Stack), m.IP
	if err := e.rt.Start(ctx, cfg); err != nil {
		e.log.Error("restarting container", "container", m.Name, "err", err)
		e.mu.Lock()
		m.State = StateExited
		c := m.Container
		e.mu.Unlock()
		_ = e.save(c)
		return false
	}
	e.mu.Lock()
	m.State, m.StartedAt, m.unhealthy = StateRunning, time.Now().UTC(), false
	m.Restarts++
	if m.Health != "" {
		m.Health = health.Starting
	}
	c = m.Container
	e.mu.Unlock()
	_ = e.save(c)
	e.resync()
	return true
}

func (e *Engine) gateway(stack string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.gateways[stack]
}

func (e *Engine) imageInfoOf(ctx context.Context, m *managed) ImageInfo {
	img, err := e.images.Resolve(ctx, m.Image)
	if err != nil {
		return ImageInfo{Digest: m.Image}
	}
	return img
}

func (e *Engine) healthCheck(m *managed) *model.HealthCheck {
	if m.Spec.Health != nil {
		if m.Spec.Health.Disabled() {
			return nil
		}
		return m.Spec.Health
	}
	if m.Health == "" {
		return nil
	}
	img, err := e.images.Resolve(context.Background(), m.Image)
	if err != nil || img.Healthcheck == nil || img.Healthcheck.Disabled() {
		return nil
	}
	return img.Healthcheck
}

// onHealth records a health change; an unhealthy container is killed and,
// through the restart path, replaced (Docker would leave it running).
func (e *Engine) onHealth(m *managed, s health.Status) {
	e.mu.Lock()
	m.Health = s
	if s == health.Unhealthy {
		m.unhealthy = true
	}
	c := m.Container
	e.mu.Unlock()
	_ = e.save(c)
	e.resync()
	if s == health.Unhealthy {
		e.log.Warn("container unhealthy: replacing it", "container", m.Name)
		_ = e.rt.Kill(m.ID, syscall.SIGKILL)
	}
}

// target adapts a container to health.Target.
type target struct {
	e *Engine
	m *managed
}

func (t target) Exec(ctx context.Context, args []string) (int, string, error) {
	return t.e.rt.Exec(ctx, t.m.ID, args)
}
func (t target) Addr() string { return t.m.IP }

// waitDependencies blocks until svc's depends_on conditions hold.
func (e *Engine) waitDependencies(ctx context.Context, stack string, svc model.ServiceSpec) error {
	names := make([]string, 0, len(svc.DependsOn))
	for n := range svc.DependsOn {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, dep := range names {
		cond := svc.DependsOn[dep]
		optional := slices.Contains(svc.OptionalDeps, dep)
		for {
			if optional && len(e.byService(stack, dep)) == 0 {
				break // required: false and nothing of it runs
			}
			ok, err := e.conditionHolds(stack, dep, cond)
			if err != nil && optional {
				e.log.Warn("optional dependency failed; starting anyway", "service", svc.Name, "dependency", dep, "err", err)
				break
			}
			if err != nil {
				return fmt.Errorf("service %s depends on %s: %w", svc.Name, dep, err)
			}
			if ok {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("service %s: waiting for %s to be %s: %w", svc.Name, dep, strings.TrimPrefix(cond, "service_"), ctx.Err())
			case <-time.After(50 * time.Millisecond): // polling interval
			}
		}
	}
	return nil
}

func (e *Engine) conditionHolds(stack, service, cond string) (bool, error) {
	cs := e.byService(stack, service)
	if len(cs) == 0 {
		return false, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range cs {
		switch cond {
		case "service_healthy":
			if c.Health != health.Healthy {
				return false, nil
			}
		case "service_completed_successfully":
			if c.State != StateExited {
				return false, nil
			}
			if c.ExitCode != 0 {
				return false, fmt.Errorf("it exited with code %d", c.ExitCode)
			}
		default:
			if c.State != StateRunning {
				return false, nil
			}
		}
	}
	return true, nil
}

// remove stops a container (signal, then SIGKILL after the stop timeout)
// and releases everything it held.
func (e *Engine) remove(ctx context.Context, id string) error {
	return e.removeWithin(ctx, id, 0)
}

// removeWithin is remove with the grace period after the stop signal
// overridden (0: the service's stop_grace_period, else 10 s).
func (e *Engine) removeWithin(ctx context.Context, id string, grace time.Duration) error {
	e.mu.Lock()
	m := e.containers[id]
	e.mu.Unlock()
	if m == nil {
		return nil
	}
	e.drain(ctx, m)
	e.mu.Lock()
	m.stopping = true
	m.State = StateRemoving
	e.mu.Unlock()
	sig := m.StopSignal
	if sig == 0 { // a container created before berth recorded it
		sig = m.Spec.StopSignal
	}
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	timeout := m.Spec.StopTimeout
	if grace > 0 {
		timeout = grace
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	_ = e.rt.Kill(id, sig)
	if m.done != nil {
		select {
		case <-m.done:
		case <-time.After(timeout):
			_ = e.rt.Kill(id, syscall.SIGKILL)
			<-m.done
		}
	}
	var errs []error
	errs = append(errs, e.rt.Delete(id))
	errs = append(errs, e.nets.Detach(ctx, m.Stack, id, m.NetNS, cniPorts(m.Ports)))
	errs = append(errs, e.nets.DeleteNetNS(id))
	dir := filepath.Join(e.containersDir(), id)
	errs = append(errs, e.images.ReleaseRootfs(dir))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing %s: %w", m.Name, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	e.mu.Lock()
	delete(e.containers, id)
	e.mu.Unlock()
	e.resync()
	return nil
}

// Down removes a stack's containers and its network and, with volumes,
// the named volumes its containers used.
func (e *Engine) Down(ctx context.Context, stack string, volumes bool) error {
	return e.DownWithin(ctx, stack, volumes, 0)
}

// DownWithin is Down giving each container grace (berth down -t) between
// the stop signal and SIGKILL instead of its stop_grace_period (0: keep it).
func (e *Engine) DownWithin(ctx context.Context, stack string, volumes bool, grace time.Duration) error {
	var ids []string
	vols := map[string]bool{}
	e.mu.Lock()
	for id, m := range e.containers {
		if m.Stack == stack {
			ids = append(ids, id)
			for _, mt := range m.Spec.Mounts {
				if mt.Type == "volume" && mt.Source != "" && !mt.External {
					vols[mt.Source] = true
				}
			}
		}
	}
	e.mu.Unlock()
	// In parallel: each stop may wait out its grace period (a PID 1 that
	// ignores SIGTERM gets SIGKILL only after it).
	errs := make([]error, len(ids)+1)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.removeWithin(ctx, id, grace)
		}()
	}
	wg.Wait()
	e.mu.Lock()
	delete(e.routeSpecs, stack)
	delete(e.gateways, stack) // its DNS zone goes with the routing push
	e.mu.Unlock()
	errs = append(errs, e.syncRoutes(ctx))
	errs[len(ids)] = e.nets.Remove(ctx, stack)
	errs = append(errs, e.forgetStack(stack))
	if volumes {
		for v := range vols {
			errs = append(errs, e.RemoveVolume(v))
		}
	}
	return errors.Join(errs...)
}

// VolumeDir is where a named volume's data lives.
func (e *Engine) VolumeDir(name string) string { return filepath.Join(e.root, "volumes", name) }

// RemoveVolume deletes a named volume; a volume a container uses is kept.
func (e *Engine) RemoveVolume(name string) error {
	if name == "" || strings.ContainsAny(name, "/\\") || name == "." || name == ".." {
		return fmt.Errorf("volume name %q is invalid", name)
	}
	e.mu.Lock()
	for _, m := range e.containers {
		for _, mt := range m.Spec.Mounts {
			if mt.Type == "volume" && mt.Source == name {
				e.mu.Unlock()
				return fmt.Errorf("volume %s is in use by container %s", name, m.Name)
			}
		}
	}
	e.mu.Unlock()
	return os.RemoveAll(e.VolumeDir(name))
}

// Containers lists containers (of one stack, or all), sorted by name.
func (e *Engine) Containers(stack string) []Container {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Container
	for _, m := range e.containers {
		if stack == "" || m.Stack == stack {
			out = append(out, m.Container)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Close stops supervising (containers keep running under their supervisors).
func (e *Engine) Close() {
	e.closeOnce.Do(func() { close(e.closed) })
	e.mu.Lock()
	ms := make([]*managed, 0, len(e.containers))
	for _, m := range e.containers {
		ms = append(ms, m)
	}
	e.mu.Unlock()
	for _, m := range ms {
		if m.cancel != nil {
			m.cancel()
			<-m.done
		}
	}
}
