package deploy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/model"
)

// DefaultReadyTimeout bounds how long one new replica may take to become
// ready when Plan.ReadyTimeout is 0.
const DefaultReadyTimeout = 2 * time.Minute

// Plan is one rollout of a service from the revision running now to a new
// one.
type Plan struct {
	Service string
	// From is the revision running now; nil: none (first deploy: start
	// Replicas and wait until they are ready).
	From *Revision
	To   Revision // the new one (Number assigned by the caller)
	// Replicas is the desired count for To; it may differ from how many
	// From has (scaling within the rollout). 0 means 1, as in
	// model.ServiceSpec, so that an unset count never removes a service.
	Replicas int
	Update   model.UpdateConfig // To.Spec.Update resolved by Defaults
	Rollback model.UpdateConfig // To.Spec.Rollback resolved by Defaults
	// ReadyTimeout is how long one new replica may take to become ready
	// (0: DefaultReadyTimeout).
	ReadyTimeout time.Duration
}

// NewPlan is the usual Plan: To's replica count and its update and
// rollback configs resolved against the defaults.
func NewPlan(c Cluster, from *Revision, to Revision) Plan {
	writable := c.HasWritableVolumes(to.Spec)
	return Plan{
		Service:  to.Service,
		From:     from,
		To:       to,
		Replicas: to.Spec.Replicas,
		Update:   Defaults(to.Spec.Update, false, writable),
		Rollback: Defaults(to.Spec.Rollback, true, writable),
	}
}

// Event kinds.
const (
	EventStart    = "start"
	EventReady    = "ready"
	EventRetire   = "retire"
	EventFailed   = "failed"
	EventRollback = "rollback"
	EventPaused   = "paused"
	EventDone     = "done"
)

// Event is one step of a rollout, for progress output.
type Event struct {
	Time     time.Time `json:"time"`
	Service  string    `json:"service"`
	Revision int       `json:"revision"`
	Slot     int       `json:"slot,omitempty"`
	Kind     string    `json:"kind"` // Event* constants
	Message  string    `json:"message"`
}

// Result is how a rollout ended.
type Result struct {
	Outcome string `json:"outcome"` // Outcome* constants
	Reason  string `json:"reason,omitempty"`
	Failed  int    `json:"failed"`  // replicas of To that failed
	Updated int    `json:"updated"` // slots switched to To (before any rollback)
	// Warnings are problems that did not change the outcome, such as an old
	// replica that could not be removed.
	Warnings []string `json:"warnings,omitempty"`
}

// slot is one replica number's state during a rollout. Only the goroutine
// working on the slot touches it while a batch runs; the rollout reads it
// between batches, after the batch's WaitGroup (monitors never touch it).
type slot struct {
	n       int
	olds    []Replica // replicas to replace that are still there
	hadOld  bool      // the slot had a replica when the rollout began
	adopt   string    // a replica of To found at the start (an earlier attempt)
	cur     string    // the To replica in the slot, "" if none
	touched bool      // the rollout started or retired something here
}

type rollout struct {
	c        Cluster
	p        Plan
	progress func(Event)
	emitMu   sync.Mutex

	slots   map[int]*slot
	surplus []Replica // replicas in slots beyond Replicas

	mu       sync.Mutex
	failures []string // To replicas that failed, first one first
	warnings []string
	updated  int
	// changed is signalled (without blocking) when a monitor fails, so the
	// wait for the monitors can react before the others end.
	changed  chan struct{}
	monitors sync.WaitGroup
}

// Rollout rolls p.Service from p.From to p.To on c and reports each step to
// progress (which may be nil; it is never called concurrently). It never
// panics or returns an error: every way it can end is a Result.
//
// Slots 1..Replicas are updated in batches of Update.Parallelism (0: all at
// once) with Update.Delay between batches. start-first: start the new
// replica, wait until it is ready (ReadyTimeout), then retire the old one,
// so a slot always has a ready replica. stop-first: retire the old one,
// then start the new one. A new replica that does not become ready is
// retired (it never took traffic) and counts as a failure; so does one that
// exits or turns unhealthy within Update.Monitor after its switch (watched
// concurrently, not holding up the next batch). When failures/Replicas
// exceeds Update.MaxFailureRatio, Update.FailureAction applies: rollback
// brings From back in every slot touched (with the Rollback config),
// pause stops and leaves everything as it is, continue goes on. Replicas
// in slots beyond Replicas are retired once the new ones have passed their
// monitor. Cancelling ctx stops promptly and leaves things as they are
// (OutcomeInterrupted); a later rollout treats whatever is left over as old
// replicas of their slots.
func Rollout(ctx context.Context, c Cluster, p Plan, progress func(Event)) Result {
	r := &rollout{c: c, p: p, progress: progress, changed: make(chan struct{}, 1)}
	res := r.run(ctx)
	res.Warnings = r.warnings
	msg := res.Outcome
	if res.Reason != "" {
		msg += ": " + res.Reason
	}
	r.emit(Event{Revision: p.To.Number, Kind: EventDone, Message: msg})
	return res
}

func (r *rollout) run(ctx context.Context) Result {
	if err := r.normalize(); err != nil {
		return Result{Outcome: OutcomeFailed, Reason: err.Error()}
	}
	r.survey(r.c.Replicas(r.p.Service))

	// Monitors get their own context so that a rollback or pause can stop
	// them without cancelling the rollout.
	monCtx, stopMonitors := context.WithCancel(ctx)
	defer stopMonitors()
	waitMonitors := func() {
		stopMonitors()
		r.monitors.Wait()
	}

	nums := make([]int, r.p.Replicas)
	for i := range nums {
		nums[i] = i + 1
	}
	halted := func() bool {
		return ctx.Err() != nil || (r.exceeded(&r.p.Update) && r.p.Update.FailureAction != ActionContinue)
	}
	for i, batch := range batches(nums, *r.p.Update.Parallelism) {
		if i > 0 && r.p.Update.Delay > 0 {
			sleep(ctx, r.p.Update.Delay)
		}
		if halted() {
			break
		}
		var wg sync.WaitGroup
		for _, n := range batch {
			wg.Go(func() { r.updateSlot(ctx, monCtx, r.slots[n]) })
		}
		wg.Wait()
		if halted() {
			break
		}
	}
	if ctx.Err() == nil && !halted() {
		r.awaitMonitors(monCtx, halted)
	}
	waitMonitors()
	if ctx.Err() != nil {
		return r.result(OutcomeInterrupted, "the rollout was interrupted")
	}

	if r.exceeded(&r.p.Update) {
		switch r.p.Update.FailureAction {
		case ActionRollback:
			return r.rollback(ctx)
		case ActionPause:
			r.emit(Event{Revision: r.p.To.Number, Kind: EventPaused, Message: "update paused: " + r.reason()})
			return r.result(OutcomeFailed, r.reason())
		}
		// continue: the rollout went through every slot; finish it, but
		// the revision did not deploy cleanly.
		r.retireSurplus(ctx)
		return r.result(OutcomeFailed, r.reason())
	}
	r.retireSurplus(ctx)
	if ctx.Err() != nil {
		return r.result(OutcomeInterrupted, "the rollout was interrupted")
	}
	reason := ""
	if len(r.failures) > 0 {
		reason = "tolerated by max_failure_ratio: " + r.reason()
	}
	return r.result(OutcomeDeployed, reason)
}

// normalize validates the plan and fills in defaults.
func (r *rollout) normalize() error {
	p := &r.p
	if p.Service == "" {
		p.Service = p.To.Service
	}
	switch {
	case p.Service == "":
		return errors.New("plan: service is empty")
	case p.To.Service != "" && p.To.Service != p.Service:
		return fmt.Errorf("plan: revision %d is of service %q, not %q", p.To.Number, p.To.Service, p.Service)
	case p.To.Number < 1:
		return fmt.Errorf("plan: revision number %d is invalid (want 1 or more)", p.To.Number)
	case p.From != nil && p.From.Number == p.To.Number:
		return fmt.Errorf("plan: from and to are both revision %d", p.To.Number)
	case p.Replicas < 0:
		return fmt.Errorf("plan: replicas %d is invalid (negative)", p.Replicas)
	case p.ReadyTimeout < 0:
		return fmt.Errorf("plan: ready timeout %s is invalid (negative)", p.ReadyTimeout)
	}
	if err := CheckUpdateConfig(&p.Update, false); err != nil {
		return err
	}
	if err := CheckUpdateConfig(&p.Rollback, true); err != nil {
		return err
	}
	if p.Replicas == 0 {
		p.Replicas = 1
	}
	if p.ReadyTimeout == 0 {
		p.ReadyTimeout = DefaultReadyTimeout
	}
	// Resolving again is a no-op for a resolved config and makes a zero
	// Plan.Update mean the defaults rather than "all at once, no monitor".
	writable := r.c.HasWritableVolumes(p.To.Spec)
	p.Update = Defaults(&p.Update, false, writable)
	p.Rollback = Defaults(&p.Rollback, true, writable)
	return nil
}

// survey sorts the service's current replicas into slots.
func (r *rollout) survey(reps []Replica) {
	r.slots = make(map[int]*slot, r.p.Replicas)
	for n := 1; n <= r.p.Replicas; n++ {
		r.slots[n] = &slot{n: n}
	}
	sort.Slice(reps, func(i, j int) bool {
		if reps[i].Slot != reps[j].Slot {
			return reps[i].Slot < reps[j].Slot
		}
		return reps[i].ID < reps[j].ID
	})
	for _, rep := range reps {
		s := r.slots[rep.Slot]
		switch {
		case s == nil:
			r.surplus = append(r.surplus, rep)
		case rep.Revision == r.p.To.Number && s.adopt == "":
			// Left by an earlier attempt at this very revision: used if it
			// turns out ready, replaced otherwise.
			s.adopt = rep.ID
		default:
			// From's replicas and leftovers of interrupted rollouts alike.
			s.olds = append(s.olds, rep)
			s.hadOld = true
		}
	}
}

// updateSlot switches one slot to To.
func (r *rollout) updateSlot(ctx, monCtx context.Context, s *slot) {
	s.touched = true
	to := r.p.To.Number
	if s.adopt != "" {
		id := s.adopt
		s.adopt = ""
		if r.waitReady(ctx, id) == "" {
			r.emit(Event{Revision: to, Slot: s.n, Kind: EventReady, Message: fmt.Sprintf("replica %d of revision %d (from an earlier attempt) is ready", s.n, to)})
			s.cur = id
			r.retireOlds(ctx, s)
			r.switched(monCtx, s, id)
			return
		}
		if ctx.Err() != nil {
			return
		}
		r.retire(ctx, Replica{ID: id, Slot: s.n, Revision: to}, "not ready, replacing it")
	}
	if r.p.Update.Order == OrderStopFirst {
		if failed := r.retireOlds(ctx, s); failed != "" {
			if ctx.Err() == nil {
				r.fail(fmt.Sprintf("replica %d of revision %d could not replace the old one: %s", s.n, to, failed))
			}
			return
		}
	}
	r.emit(Event{Revision: to, Slot: s.n, Kind: EventStart, Message: fmt.Sprintf("starting replica %d of revision %d", s.n, to)})
	id, err := r.c.Start(ctx, r.p.To, s.n)
	if err != nil {
		if id != "" {
			r.retire(ctx, Replica{ID: id, Slot: s.n, Revision: to}, "it failed to start")
		}
		if ctx.Err() == nil {
			r.fail(fmt.Sprintf("replica %d of revision %d could not start: %v", s.n, to, err))
		}
		return
	}
	s.cur = id
	if why := r.waitReady(ctx, id); why != "" {
		if ctx.Err() != nil {
			return
		}
		r.fail(fmt.Sprintf("replica %d of revision %d %s", s.n, to, why))
		// It never took traffic: remove it, whatever the failure action.
		r.retire(ctx, Replica{ID: id, Slot: s.n, Revision: to}, "it did not become ready")
		s.cur = ""
		return
	}
	r.emit(Event{Revision: to, Slot: s.n, Kind: EventReady, Message: fmt.Sprintf("replica %d of revision %d is ready", s.n, to)})
	if r.p.Update.Order == OrderStartFirst {
		r.retireOlds(ctx, s)
	}
	r.switched(monCtx, s, id)
}

// switched counts a slot as updated and starts watching its new replica.
func (r *rollout) switched(monCtx context.Context, s *slot, id string) {
	r.mu.Lock()
	r.updated++
	r.mu.Unlock()
	d := r.p.Update.Monitor
	if d <= 0 {
		return
	}
	n, to := s.n, r.p.To.Number
	r.monitors.Go(func() {
		err := r.c.Watch(monCtx, id, d)
		if err == nil || monCtx.Err() != nil {
			return
		}
		r.fail(fmt.Sprintf("replica %d of revision %d failed within the %s monitor: %v", n, to, d, err))
		select {
		case r.changed <- struct{}{}:
		default:
		}
	})
}

// awaitMonitors waits until every monitor has ended, or until failures
// halt the rollout (then the caller stops the rest).
func (r *rollout) awaitMonitors(ctx context.Context, halted func() bool) {
	done := make(chan struct{})
	go func() {
		r.monitors.Wait()
		close(done)
	}()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-r.changed:
			if halted() {
				return
			}
		}
	}
}

// waitReady waits for a new replica, bounded by ReadyTimeout, and says why
// it failed ("" when it is ready).
func (r *rollout) waitReady(ctx context.Context, id string) string {
	rctx, cancel := context.WithTimeout(ctx, r.p.ReadyTimeout)
	defer cancel()
	err := r.c.WaitReady(rctx, id)
	switch {
	case err == nil:
		return ""
	case ctx.Err() == nil && errors.Is(rctx.Err(), context.DeadlineExceeded):
		return fmt.Sprintf("did not become ready within %s", r.p.ReadyTimeout)
	default:
		return fmt.Sprintf("did not become ready: %v", err)
	}
}

// retireOlds retires the slot's old replicas; it returns why one could not
// be retired ("" when all were). A replica that could not be retired stays
// in s.olds.
func (r *rollout) retireOlds(ctx context.Context, s *slot) string {
	var kept []Replica
	failed := ""
	for _, old := range s.olds {
		if err := r.retire(ctx, old, "replaced"); err != nil {
			kept = append(kept, old)
			if failed == "" {
				failed = err.Error()
			}
		}
	}
	s.olds = kept
	return failed
}

// retire retires one replica; a failure becomes a warning (and the error).
func (r *rollout) retire(ctx context.Context, rep Replica, why string) error {
	r.emit(Event{Revision: rep.Revision, Slot: rep.Slot, Kind: EventRetire, Message: fmt.Sprintf("retiring replica %d of revision %d (%s): %s", rep.Slot, rep.Revision, rep.ID, why)})
	err := r.c.Retire(ctx, rep.ID)
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("could not retire replica %d of revision %d (%s): %w", rep.Slot, rep.Revision, rep.ID, err)
		r.warn(err.Error())
	}
	return err
}

// retireSurplus retires the replicas of slots beyond Replicas (scaling
// down), once the new ones are in place.
func (r *rollout) retireSurplus(ctx context.Context) {
	for _, rep := range r.surplus {
		if ctx.Err() != nil {
			return
		}
		r.retire(ctx, rep, fmt.Sprintf("scaling to %d", r.p.Replicas))
	}
}

// rollback brings From back in every slot the rollout touched and retires
// the To replicas there.
func (r *rollout) rollback(ctx context.Context) Result {
	reason := r.reason()
	from := r.p.From
	if from == nil {
		// A first deploy has nothing to return to; removing the replicas
		// that did start would destroy the evidence (logs, state) without
		// restoring anything, so they stay, as with pause.
		r.emit(Event{Revision: r.p.To.Number, Kind: EventPaused, Message: "no earlier revision to roll back to: " + reason})
		return r.result(OutcomeFailed, reason+" (first deploy: nothing to roll back to)")
	}
	r.emit(Event{Revision: r.p.To.Number, Kind: EventRollback, Message: fmt.Sprintf("rolling back to revision %d: %s", from.Number, reason)})

	var touched []int
	restoring := 0
	for n, s := range r.slots {
		if s.touched {
			touched = append(touched, n)
			if len(s.olds) == 0 && s.hadOld {
				restoring++
			}
		}
	}
	sort.Ints(touched)

	rb := &rollbackRun{r: r, cfg: r.p.Rollback, from: *from, total: restoring}
	rbCtx, stopMonitors := context.WithCancel(ctx)
	defer stopMonitors()
	halted := func() bool {
		return ctx.Err() != nil || (rb.exceeded() && rb.cfg.FailureAction == ActionPause)
	}
	for i, batch := range batches(touched, *rb.cfg.Parallelism) {
		if i > 0 && rb.cfg.Delay > 0 {
			sleep(ctx, rb.cfg.Delay)
		}
		if halted() {
			break
		}
		var wg sync.WaitGroup
		for _, n := range batch {
			wg.Go(func() { rb.restoreSlot(ctx, rbCtx, r.slots[n]) })
		}
		wg.Wait()
		if halted() {
			break
		}
	}
	if !halted() {
		rb.monitors.Wait()
	}
	stopMonitors()
	rb.monitors.Wait()
	if ctx.Err() != nil {
		return r.result(OutcomeInterrupted, "the rollback was interrupted: "+reason)
	}
	if rb.exceeded() {
		rb.mu.Lock()
		why := rb.failures[0]
		rb.mu.Unlock()
		if rb.cfg.FailureAction == ActionPause {
			r.emit(Event{Revision: from.Number, Kind: EventPaused, Message: "rollback paused: " + why})
		}
		return r.result(OutcomeFailed, reason+"; the rollback failed too: "+why)
	}
	return r.result(OutcomeRolledBack, reason)
}

// rollbackRun is the state of one rollback.
type rollbackRun struct {
	r        *rollout
	cfg      model.UpdateConfig
	from     Revision
	total    int // slots that need a From replica started
	mu       sync.Mutex
	failures []string
	monitors sync.WaitGroup
}

func (rb *rollbackRun) exceeded() bool {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	return len(rb.failures) > 0 && float64(len(rb.failures))/float64(max(rb.total, 1)) > rb.cfg.MaxFailureRatio
}

func (rb *rollbackRun) fail(why string) {
	rb.mu.Lock()
	rb.failures = append(rb.failures, why)
	rb.mu.Unlock()
	rb.r.emit(Event{Revision: rb.from.Number, Kind: EventFailed, Message: why})
}

// restoreSlot puts a From replica back in one slot (unless the old one is
// still there) and retires the slot's To replica.
func (rb *rollbackRun) restoreSlot(ctx, monCtx context.Context, s *slot) {
	r := rb.r
	to := r.p.To.Number
	retireCur := func() {
		if s.cur != "" {
			if r.retire(ctx, Replica{ID: s.cur, Slot: s.n, Revision: to}, "rolling back") == nil {
				s.cur = ""
			}
		}
	}
	if len(s.olds) > 0 || !s.hadOld {
		// The old replica was never retired (its new one failed first), or
		// the slot is new in this rollout (scaling up): nothing to start.
		retireCur()
		return
	}
	if rb.cfg.Order == OrderStopFirst {
		retireCur()
	}
	n, fn := s.n, rb.from.Number
	r.emit(Event{Revision: fn, Slot: n, Kind: EventStart, Message: fmt.Sprintf("starting replica %d of revision %d (rollback)", n, fn)})
	id, err := r.c.Start(ctx, rb.from, n)
	if err != nil {
		if id != "" {
			r.retire(ctx, Replica{ID: id, Slot: n, Revision: fn}, "it failed to start")
		}
		if ctx.Err() == nil {
			rb.fail(fmt.Sprintf("replica %d of revision %d could not start: %v", n, fn, err))
		}
		return
	}
	if why := r.waitReady(ctx, id); why != "" {
		if ctx.Err() != nil {
			return
		}
		rb.fail(fmt.Sprintf("replica %d of revision %d %s", n, fn, why))
		r.retire(ctx, Replica{ID: id, Slot: n, Revision: fn}, "it did not become ready")
		return
	}
	r.emit(Event{Revision: fn, Slot: n, Kind: EventReady, Message: fmt.Sprintf("replica %d of revision %d is ready", n, fn)})
	retireCur()
	if d := rb.cfg.Monitor; d > 0 {
		rb.monitors.Go(func() {
			if err := r.c.Watch(monCtx, id, d); err != nil && monCtx.Err() == nil {
				rb.fail(fmt.Sprintf("replica %d of revision %d failed within the %s monitor: %v", n, fn, d, err))
			}
		})
	}
}

// fail records a failed To replica.
func (r *rollout) fail(why string) {
	r.mu.Lock()
	r.failures = append(r.failures, why)
	r.mu.Unlock()
	r.emit(Event{Revision: r.p.To.Number, Kind: EventFailed, Message: why})
}

func (r *rollout) warn(msg string) {
	r.mu.Lock()
	r.warnings = append(r.warnings, msg)
	r.mu.Unlock()
}

// exceeded reports whether the failures so far are over cfg's ratio.
func (r *rollout) exceeded(cfg *model.UpdateConfig) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.failures) > 0 && float64(len(r.failures))/float64(r.p.Replicas) > cfg.MaxFailureRatio
}

// reason describes the failures: the first one, and how many there were.
func (r *rollout) reason() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch len(r.failures) {
	case 0:
		return ""
	case 1:
		return r.failures[0]
	}
	return fmt.Sprintf("%s (%d of %d replicas failed)", r.failures[0], len(r.failures), r.p.Replicas)
}

func (r *rollout) result(outcome, reason string) Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Result{Outcome: outcome, Reason: reason, Failed: len(r.failures), Updated: r.updated}
}

// emit reports an event; the mutex keeps progress from being called
// concurrently, so callers can write to a stream without locking.
func (r *rollout) emit(e Event) {
	if r.progress == nil {
		return
	}
	e.Time = time.Now()
	e.Service = r.p.Service
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	r.progress(e)
}

// batches splits nums into groups of size n (0: one group).
func batches(nums []int, n uint64) [][]int {
	if n == 0 || n > uint64(len(nums)) {
		n = uint64(len(nums))
	}
	var out [][]int
	for len(nums) > 0 {
		k := min(int(n), len(nums))
		out = append(out, nums[:k])
		nums = nums[k:]
	}
	return out
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
