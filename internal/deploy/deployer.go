package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/model"
)

// Deployer applies new desired states to the engine's stacks by rolling
// out the services that changed, and keeps their revision history.
type Deployer struct {
	eng  *engine.Engine
	hist *History
	log  *slog.Logger

	mu    sync.Mutex
	locks map[string]*sync.Mutex // one rollout per stack at a time
}

// NewDeployer keeps the history under dir. Rollouts the previous daemon
// did not finish are marked interrupted: the engine's containers are what
// they are, and the next deploy converges from there.
func NewDeployer(eng *engine.Engine, dir string, log *slog.Logger) (*Deployer, error) {
	h, err := OpenHistory(dir)
	if err != nil {
		return nil, err
	}
	if err := h.MarkInterrupted(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Deployer{eng: eng, hist: h, log: log, locks: map[string]*sync.Mutex{}}, nil
}

func (d *Deployer) lock(stack string) func() {
	d.mu.Lock()
	l := d.locks[stack]
	if l == nil {
		l = &sync.Mutex{}
		d.locks[stack] = l
	}
	d.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Request is one deploy: the stack's whole new desired state.
type Request struct {
	Spec model.StackSpec `json:"spec"`
	// Services limits the deploy to these services (default: all).
	Services []string `json:"services,omitempty"`
	// ReadyTimeout bounds how long one new replica may take to become
	// ready (default 2 min).
	ReadyTimeout time.Duration `json:"readyTimeout,omitempty"`
}

// ServiceResult is what a deploy did to one service.
type ServiceResult struct {
	Service  string `json:"service"`
	Revision int    `json:"revision,omitempty"` // the revision deployed or attempted; 0 = unchanged
	Current  int    `json:"current"`            // the revision running now
	Digest   string `json:"digest"`
	Outcome  string `json:"outcome"` // an Outcome*, or "unchanged"
	Reason   string `json:"reason,omitempty"`
}

// OutcomeUnchanged: the service already ran what was asked.
const OutcomeUnchanged = "unchanged"

// Report is a deploy's result.
type Report struct {
	Stack    string          `json:"stack"`
	Services []ServiceResult `json:"services"`
}

// ErrFailed wraps a deploy whose rollout failed (and was rolled back or
// paused); the report says which.
var ErrFailed = errors.New("deploy failed")

// Deploy resolves every image of the request to a digest, makes the proxy
// listen on what the services publish, then rolls out each changed
// service in dependency order. It stops at the first service that fails.
func (d *Deployer) Deploy(ctx context.Context, req Request, progress func(Event)) (Report, error) {
	stack := req.Spec.Name
	defer d.lock(stack)()
	rep := Report{Stack: stack}
	selected := req.Spec.Services
	if len(req.Services) > 0 {
		selected = nil
		for _, name := range req.Services {
			i := indexOf(req.Spec.Services, name)
			if i < 0 {
				return rep, fmt.Errorf("stack %s has no service %q (services: %s)", stack, name, serviceNames(req.Spec.Services))
			}
			selected = append(selected, req.Spec.Services[i])
		}
	}
	// Every image and update config first: a bad one fails the deploy
	// before anything changes. Tags are resolved once; the digest is what
	// runs.
	digests := make([]string, len(selected))
	for i, svc := range selected {
		if err := CheckUpdateConfig(svc.Update, false); err != nil {
			return rep, fmt.Errorf("service %s: %w", svc.Name, err)
		}
		if err := CheckUpdateConfig(svc.Rollback, true); err != nil {
			return rep, fmt.Errorf("service %s: %w", svc.Name, err)
		}
		img, err := d.eng.ResolveImage(ctx, svc.Image)
		if err != nil {
			return rep, fmt.Errorf("service %s: image %s: %w", svc.Name, svc.Image, err)
		}
		digests[i] = img.Digest
	}
	if err := d.eng.PrepareStack(ctx, stack, selected); err != nil {
		return rep, err
	}
	cluster := engineCluster{eng: d.eng, stack: stack}
	running := map[string]model.ServiceSpec{} // what each service runs after the deploy
	var failed error
	for i, svc := range selected {
		res, spec, err := d.rollout(ctx, cluster, stack, svc, digests[i], req.ReadyTimeout, 0, progress)
		rep.Services = append(rep.Services, res)
		running[svc.Name] = spec
		if err != nil {
			failed = err
			break
		}
	}
	if err := d.record(stack, req.Spec, running); err != nil {
		return rep, err
	}
	return rep, failed
}

// from is the revision a service runs now: its current history entry when
// the containers run it, else one made up from the running containers
// (a stack brought up with berth up, or an interrupted rollout).
func (d *Deployer) from(stack, service string) *Revision {
	cs := d.eng.ServiceContainers(stack, service)
	if len(cs) == 0 {
		return nil
	}
	if cur, ok := d.hist.Current(stack, service); ok {
		for _, c := range cs {
			if c.Revision == cur.Number {
				return &cur
			}
		}
	}
	newest := cs[0]
	for _, c := range cs[1:] {
		if c.Revision > newest.Revision {
			newest = c
		}
	}
	if r, ok := d.hist.Get(stack, service, newest.Revision); ok && newest.Revision > 0 {
		return &r
	}
	return &Revision{Number: newest.Revision, Service: service, Image: newest.Spec.Image, Digest: newest.Image,
		ConfigHash: newest.ConfigHash, Spec: newest.Spec, Created: newest.StartedAt, Outcome: OutcomeDeployed}
}

// rollout moves one service to svc running digest (rollbackOf: this
// revision restores that one). It returns the result and the spec the
// service runs afterwards.
func (d *Deployer) rollout(ctx context.Context, c Cluster, stack string, svc model.ServiceSpec, digest string, readyTimeout time.Duration, rollbackOf int, progress func(Event)) (ServiceResult, model.ServiceSpec, error) {
	from := d.from(stack, svc.Name)
	hash := engine.ConfigHash(svc, digest)
	replicas := max(svc.Replicas, 1)
	res := ServiceResult{Service: svc.Name, Digest: digest}
	if from != nil && rollbackOf == 0 && d.settled(stack, svc.Name, hash, replicas) {
		res.Outcome, res.Current, res.Digest = OutcomeUnchanged, from.Number, from.Digest
		return res, svc, nil
	}
	// The next number, above any a container carries too (a lost history
	// file must not reuse a number that runs).
	number := d.hist.Next(stack, svc.Name)
	for _, c := range d.eng.ServiceContainers(stack, svc.Name) {
		number = max(number, c.Revision+1)
	}
	to := Revision{Number: number, Service: svc.Name, Image: svc.Image, Digest: digest,
		ConfigHash: hash, Spec: svc, Created: time.Now().UTC(), Outcome: OutcomeInProgress, RollbackOf: rollbackOf}
	if last, ok := d.resumable(stack, svc.Name, hash, rollbackOf, from); ok {
		// The same release again after a daemon stop cut it short: carry
		// on under its number, so the replicas it already started (and
		// that turn out ready) are kept instead of replaced once more.
		to.Number, to.Created = last.Number, last.Created
		d.log.Info("resuming interrupted rollout", "stack", stack, "service", svc.Name, "revision", to.Number)
	}
	if err := d.hist.Put(stack, to); err != nil {
		return res, svc, err
	}
	writable := c.HasWritableVolumes(svc)
	plan := Plan{Service: svc.Name, From: from, To: to, Replicas: replicas,
		Update:   Defaults(svc.Update, false, writable),
		Rollback: Defaults(svc.Rollback, true, writable), ReadyTimeout: readyTimeout}
	d.log.Info("rolling out", "stack", stack, "service", svc.Name, "revision", to.Number, "digest", digest)
	r := Rollout(ctx, c, plan, progress)
	to.Outcome, to.Reason, to.Finished = r.Outcome, r.Reason, time.Now().UTC()
	if err := d.hist.Put(stack, to); err != nil {
		return res, svc, err
	}
	res.Revision, res.Outcome, res.Reason = to.Number, r.Outcome, r.Reason
	if r.Outcome == OutcomeDeployed {
		res.Current = to.Number
		return res, svc, nil
	}
	spec := svc
	if from != nil {
		res.Current = from.Number
		if r.Outcome == OutcomeRolledBack {
			spec = from.Spec
		}
	}
	return res, spec, fmt.Errorf("%w: service %s revision %d %s: %s", ErrFailed, svc.Name, to.Number, strings.ReplaceAll(r.Outcome, "_", " "), r.Reason)
}

// resumable is the service's newest revision when a daemon stop
// interrupted it and this deploy asks for exactly it again (same config
// hash, same kind: not a rollback either way), and it is not what from
// already runs.
func (d *Deployer) resumable(stack, service, hash string, rollbackOf int, from *Revision) (Revision, bool) {
	last, ok := d.hist.Get(stack, service, d.hist.Next(stack, service)-1)
	if !ok || last.Outcome != OutcomeInterrupted || last.ConfigHash != hash || last.RollbackOf != 0 || rollbackOf != 0 {
		return Revision{}, false
	}
	if from != nil && from.Number == last.Number {
		return Revision{}, false
	}
	return last, true
}

// settled: every slot runs the config hash, with nothing else left over.
func (d *Deployer) settled(stack, service, hash string, replicas int) bool {
	cs := d.eng.ServiceContainers(stack, service)
	if len(cs) != replicas {
		return false
	}
	for _, c := range cs {
		if c.ConfigHash != hash || c.State != engine.StateRunning || c.Replica < 1 || c.Replica > replicas {
			return false
		}
	}
	return true
}

// record remembers the stack's spec with each service as it runs now.
func (d *Deployer) record(stack string, want model.StackSpec, running map[string]model.ServiceSpec) error {
	spec, ok := d.eng.Stack(stack)
	if !ok {
		spec = model.StackSpec{Name: stack}
	}
	spec.Services = append([]model.ServiceSpec(nil), spec.Services...)
	for _, svc := range want.Services { // dependency order
		run, deployed := running[svc.Name]
		if !deployed {
			continue // not part of this deploy, or not reached
		}
		if i := indexOf(spec.Services, svc.Name); i >= 0 {
			spec.Services[i] = run
		} else {
			spec.Services = append(spec.Services, run)
		}
	}
	return d.eng.RecordStack(spec)
}

// Rollback rolls a service back to revision to (0: the deployed revision
// before the current one) as a new revision.
func (d *Deployer) Rollback(ctx context.Context, stack, service string, to int, readyTimeout time.Duration, progress func(Event)) (Report, error) {
	defer d.lock(stack)()
	rep := Report{Stack: stack}
	cur, ok := d.hist.Current(stack, service)
	if !ok {
		return rep, fmt.Errorf("service %s of stack %s has no deployed revision (berth history %s)", service, stack, service)
	}
	var target Revision
	if to == 0 {
		revs := d.hist.List(stack, service)
		for i := len(revs) - 1; i >= 0; i-- {
			r := revs[i]
			if r.Number < cur.Number && r.Outcome == OutcomeDeployed && r.ConfigHash != cur.ConfigHash {
				target, ok = r, true
				break
			}
		}
		if !ok {
			return rep, fmt.Errorf("service %s has no earlier deployed revision to roll back to (current: %d)", service, cur.Number)
		}
	} else {
		if target, ok = d.hist.Get(stack, service, to); !ok {
			return rep, fmt.Errorf("service %s has no revision %d (berth history %s)", service, to, service)
		}
		if target.Number == cur.Number {
			return rep, fmt.Errorf("revision %d of %s is already the current one", to, service)
		}
	}
	if err := d.eng.PrepareStack(ctx, stack, []model.ServiceSpec{target.Spec}); err != nil {
		return rep, err
	}
	res, spec, err := d.rollout(ctx, engineCluster{eng: d.eng, stack: stack}, stack, target.Spec, target.Digest, readyTimeout, target.Number, progress)
	rep.Services = append(rep.Services, res)
	if rerr := d.record(stack, model.StackSpec{Name: stack, Services: []model.ServiceSpec{spec}}, map[string]model.ServiceSpec{service: spec}); rerr != nil {
		return rep, errors.Join(err, rerr)
	}
	return rep, err
}

// HistoryEntry is a revision as berth history shows it.
type HistoryEntry struct {
	Revision
	Current bool `json:"current"`
}

// History lists a service's revisions, oldest first.
func (d *Deployer) History(stack, service string) []HistoryEntry {
	cur, _ := d.hist.Current(stack, service)
	var out []HistoryEntry
	for _, r := range d.hist.List(stack, service) {
		out = append(out, HistoryEntry{Revision: r, Current: r.Number == cur.Number && cur.Number > 0})
	}
	return out
}

func indexOf(svcs []model.ServiceSpec, name string) int {
	for i, s := range svcs {
		if s.Name == name {
			return i
		}
	}
	return -1
}

func serviceNames(svcs []model.ServiceSpec) string {
	var names []string
	for _, s := range svcs {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
