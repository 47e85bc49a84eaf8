package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/model"
)

// behavior is how the fake makes one replica (by revision and slot) act.
type behavior struct {
	startErr   error
	readyErr   error         // WaitReady fails with it
	readyDelay time.Duration // a slow replica
	watchErr   error         // the replica exits during the monitor
	hold       bool          // WaitReady blocks until the test releases it
}

type fakeRep struct {
	Replica
	ready, gone bool
}

// op is one call on the fake, in the order they happened.
type op struct {
	at   time.Time
	kind string // start, ready, retire
	id   string
	slot int
	rev  int
}

// fakeCluster is an in-memory Cluster that records a timeline and checks
// the zero-downtime invariant on every retire.
type fakeCluster struct {
	mu       sync.Mutex
	reps     map[string]*fakeRep
	timeline []op
	next     int
	behave   func(rev, slot int) behavior
	writable bool
	onStart  func(rev, slot int)

	// emptied lists the slots a Retire left without a ready replica.
	emptied    []int
	inReady    int
	maxInReady int
	waiting    map[string]int // held WaitReady calls: id → slot
	release    map[string]chan struct{}
}

func newFake() *fakeCluster {
	return &fakeCluster{
		reps:    map[string]*fakeRep{},
		behave:  func(int, int) behavior { return behavior{} },
		waiting: map[string]int{},
		release: map[string]chan struct{}{},
	}
}

// seed adds ready replicas of rev in slots 1..n.
func (f *fakeCluster) seed(rev, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := 1; s <= n; s++ {
		f.add(rev, s, true)
	}
}

func (f *fakeCluster) add(rev, slot int, ready bool) string {
	f.next++
	id := fmt.Sprintf("r%d-s%d-%d", rev, slot, f.next)
	f.reps[id] = &fakeRep{Replica: Replica{ID: id, Slot: slot, Revision: rev}, ready: ready}
	return id
}

func (f *fakeCluster) record(kind, id string) {
	r := f.reps[id]
	f.timeline = append(f.timeline, op{at: time.Now(), kind: kind, id: id, slot: r.Slot, rev: r.Revision})
}

func (f *fakeCluster) Replicas(service string) []Replica {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Replica
	for _, r := range f.reps {
		if !r.gone {
			out = append(out, r.Replica)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (f *fakeCluster) Start(ctx context.Context, rev Revision, slot int) (string, error) {
	if f.onStart != nil {
		f.onStart(rev.Number, slot)
	}
	if err := f.behave(rev.Number, slot).startErr; err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.add(rev.Number, slot, false)
	f.record("start", id)
	return id, nil
}

func (f *fakeCluster) WaitReady(ctx context.Context, id string) error {
	f.mu.Lock()
	r := f.reps[id]
	b := f.behave(r.Revision, r.Slot)
	f.inReady++
	f.maxInReady = max(f.maxInReady, f.inReady)
	var rel chan struct{}
	if b.hold {
		rel = make(chan struct{})
		f.waiting[id] = r.Slot
		f.release[id] = rel
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inReady--
		delete(f.waiting, id)
		f.mu.Unlock()
	}()
	if b.hold {
		select {
		case <-rel:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if b.readyDelay > 0 {
		t := time.NewTimer(b.readyDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if b.readyErr != nil {
		return b.readyErr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r.ready = true
	f.record("ready", id)
	return nil
}

func (f *fakeCluster) Watch(ctx context.Context, id string, d time.Duration) error {
	f.mu.Lock()
	r := f.reps[id]
	b := f.behave(r.Revision, r.Slot)
	if b.watchErr != nil {
		r.ready = false
		f.mu.Unlock()
		return b.watchErr
	}
	f.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeCluster) Retire(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.reps[id]
	if !ok || r.gone {
		return fmt.Errorf("no replica %s", id)
	}
	f.record("retire", id)
	if r.ready {
		others := 0
		for _, o := range f.reps {
			if o != r && !o.gone && o.ready && o.Slot == r.Slot {
				others++
			}
		}
		if others == 0 {
			f.emptied = append(f.emptied, r.Slot)
		}
	}
	r.gone = true
	return nil
}

func (f *fakeCluster) HasWritableVolumes(model.ServiceSpec) bool { return f.writable }

// state is slot → revisions of the replicas there, sorted.
func (f *fakeCluster) state() map[int][]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int][]int{}
	for _, r := range f.reps {
		if !r.gone {
			out[r.Slot] = append(out[r.Slot], r.Revision)
		}
	}
	for _, v := range out {
		sort.Ints(v)
	}
	return out
}

// index is the position in the timeline of the first op of kind on a
// replica of rev in slot, or -1.
func (f *fakeCluster) index(kind string, rev, slot int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, o := range f.timeline {
		if o.kind == kind && o.rev == rev && o.slot == slot {
			return i
		}
	}
	return -1
}

func (f *fakeCluster) opAt(i int) op {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.timeline[i]
}

func (f *fakeCluster) emptiedSlots() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.emptied)
}

func rev(n, replicas int) Revision {
	return Revision{Number: n, Service: "web", Image: fmt.Sprintf("web:%d", n), Spec: model.ServiceSpec{Name: "web", Replicas: replicas}}
}

func par(n uint64) *uint64 { return &n }

// plan is a rollout from revision 1 (when from > 0 replicas) to revision 2
// with a short monitor, so tests don't wait the default 5 s.
func plan(from, to int, u model.UpdateConfig) Plan {
	if u.Monitor == 0 {
		u.Monitor = 10 * time.Millisecond
	}
	p := Plan{Service: "web", To: rev(2, to), Replicas: to, Update: u, ReadyTimeout: 5 * time.Second}
	if from > 0 {
		r := rev(1, from)
		p.From = &r
	}
	return p
}

func wantState(t *testing.T, f *fakeCluster, want map[int][]int) {
	t.Helper()
	got := f.state()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("replicas by slot = %v, want %v", got, want)
	}
}

func wantOutcome(t *testing.T, res Result, outcome string) {
	t.Helper()
	if res.Outcome != outcome {
		t.Fatalf("outcome = %s (%s), want %s", res.Outcome, res.Reason, outcome)
	}
}

// events collects progress events.
type events struct {
	mu sync.Mutex
	ev []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.ev = append(e.ev, ev)
	e.mu.Unlock()
}

func (e *events) kinds() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.ev {
		out = append(out, ev.Kind)
	}
	return out
}

func TestStartFirstNeverEmptiesASlot(t *testing.T) {
	f := newFake()
	f.seed(1, 3)
	// Slow new replicas widen the window in which a wrong order would show.
	f.behave = func(rev, slot int) behavior { return behavior{readyDelay: 5 * time.Millisecond} }
	var ev events
	res := Rollout(t.Context(), f, plan(3, 3, model.UpdateConfig{}), ev.add)
	wantOutcome(t, res, OutcomeDeployed)
	if res.Updated != 3 || res.Failed != 0 {
		t.Fatalf("updated %d failed %d, want 3 and 0", res.Updated, res.Failed)
	}
	wantState(t, f, map[int][]int{1: {2}, 2: {2}, 3: {2}})
	if e := f.emptiedSlots(); len(e) > 0 {
		t.Fatalf("slots %v were left without a ready replica", e)
	}
	for s := 1; s <= 3; s++ {
		start, ready, retire := f.index("start", 2, s), f.index("ready", 2, s), f.index("retire", 1, s)
		if !(start < ready && ready < retire) {
			t.Errorf("slot %d: start %d ready %d retire-old %d, want start-first order", s, start, ready, retire)
		}
	}
	k := ev.kinds()
	if k[len(k)-1] != EventDone || !slices.Contains(k, EventStart) || !slices.Contains(k, EventReady) || !slices.Contains(k, EventRetire) {
		t.Fatalf("events %v", k)
	}
}

func TestStopFirstWithWritableVolumes(t *testing.T) {
	f := newFake()
	f.writable = true // and no explicit order: stop-first
	f.seed(1, 3)
	res := Rollout(t.Context(), f, plan(3, 3, model.UpdateConfig{}), nil)
	wantOutcome(t, res, OutcomeDeployed)
	wantState(t, f, map[int][]int{1: {2}, 2: {2}, 3: {2}})
	for s := 1; s <= 3; s++ {
		retire, start, ready := f.index("retire", 1, s), f.index("start", 2, s), f.index("ready", 2, s)
		if !(retire < start && start < ready) {
			t.Errorf("slot %d: retire-old %d start %d ready %d, want stop-first order", s, retire, start, ready)
		}
		if s > 1 && f.index("ready", 2, s-1) > retire {
			t.Errorf("slot %d was stopped before slot %d was ready again", s, s-1)
		}
	}
}

func TestParallelismTwoOverFiveIsThreeBatches(t *testing.T) {
	f := newFake()
	f.seed(1, 5)
	f.behave = func(rev, slot int) behavior { return behavior{hold: rev == 2} }
	done := make(chan Result, 1)
	go func() { done <- Rollout(t.Context(), f, plan(5, 5, model.UpdateConfig{Parallelism: par(2)}), nil) }()

	for _, batch := range [][]int{{1, 2}, {3, 4}, {5}} {
		// Poll (with a deadline) until exactly this batch is waiting.
		deadline := time.Now().Add(5 * time.Second)
		for {
			f.mu.Lock()
			var slots []int
			for _, s := range f.waiting {
				slots = append(slots, s)
			}
			sort.Ints(slots)
			started := 0
			for _, o := range f.timeline {
				if o.kind == "start" {
					started++
				}
			}
			f.mu.Unlock()
			if slices.Equal(slots, batch) {
				if started != batch[len(batch)-1] {
					t.Fatalf("%d replicas started while batch %v waits", started, batch)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting slots %v, want batch %v", slots, batch)
			}
			time.Sleep(time.Millisecond)
		}
		f.mu.Lock()
		for id, ch := range f.release {
			close(ch)
			delete(f.release, id)
		}
		f.mu.Unlock()
	}
	res := <-done
	wantOutcome(t, res, OutcomeDeployed)
	if f.maxInReady != 2 {
		t.Fatalf("at most %d replicas were starting at once, want 2", f.maxInReady)
	}
	if e := f.emptiedSlots(); len(e) > 0 {
		t.Fatalf("slots %v were left without a ready replica", e)
	}
}

func TestDelayBetweenBatches(t *testing.T) {
	f := newFake()
	f.seed(1, 3)
	const delay = 40 * time.Millisecond
	begin := time.Now()
	res := Rollout(t.Context(), f, plan(3, 3, model.UpdateConfig{Delay: delay, Monitor: time.Millisecond}), nil)
	wantOutcome(t, res, OutcomeDeployed)
	for s := 2; s <= 3; s++ {
		prevEnd := f.opAt(f.index("retire", 1, s-1)).at
		start := f.opAt(f.index("start", 2, s)).at
		if gap := start.Sub(prevEnd); gap < delay {
			t.Errorf("slot %d started %s after slot %d's batch, want at least %s", s, gap, s-1, delay)
		}
	}
	// Two gaps, not three: no delay after the last batch (generous bound).
	if el := time.Since(begin); el > 2*delay+time.Second {
		t.Errorf("rollout took %s", el)
	}
}

func TestFailureRollsBackTouchedSlots(t *testing.T) {
	f := newFake()
	f.seed(1, 3)
	f.behave = func(rev, slot int) behavior {
		if rev == 2 && slot == 2 {
			return behavior{readyErr: errors.New("exited with code 1")}
		}
		return behavior{}
	}
	var ev events
	res := Rollout(t.Context(), f, plan(3, 3, model.UpdateConfig{}), ev.add)
	wantOutcome(t, res, OutcomeRolledBack)
	if want := "replica 2 of revision 2 did not become ready: exited with code 1"; res.Reason != want {
		t.Fatalf("reason %q, want %q", res.Reason, want)
	}
	if res.Failed != 1 || res.Updated != 1 {
		t.Fatalf("failed %d updated %d, want 1 and 1", res.Failed, res.Updated)
	}
	// Slot 1 was switched and is restored; slot 2 kept its old replica;
	// slot 3 was never touched.
	wantState(t, f, map[int][]int{1: {1}, 2: {1}, 3: {1}})
	if f.index("start", 2, 3) != -1 {
		t.Fatal("slot 3 was updated after the failure")
	}
	if start, retire := f.index("start", 1, 1), f.index("retire", 2, 1); !(start >= 0 && start < retire) {
		t.Fatalf("slot 1 rollback: start-old %d retire-new %d", start, retire)
	}
	if e := f.emptiedSlots(); len(e) > 0 {
		t.Fatalf("slots %v were left without a ready replica", e)
	}
	if !slices.Contains(ev.kinds(), EventRollback) {
		t.Fatalf("no rollback event in %v", ev.kinds())
	}
}

func TestMonitorFailureRollsBackAll(t *testing.T) {
	f := newFake()
	f.seed(1, 3)
	f.behave = func(rev, slot int) behavior {
		if rev == 2 && slot == 3 {
			return behavior{watchErr: errors.New("exited with code 137")}
		}
		return behavior{}
	}
	// All at once, a monitor long enough that the failure comes first.
	res := Rollout(t.Context(), f, plan(3, 3, model.UpdateConfig{Parallelism: par(0), Monitor: time.Minute}), nil)
	wantOutcome(t, res, OutcomeRolledBack)
	if !strings.Contains(res.Reason, "replica 3 of revision 2 failed within the 1m0s monitor: exited with code 137") {
		t.Fatalf("reason %q", res.Reason)
	}
	wantState(t, f, map[int][]int{1: {1}, 2: {1}, 3: {1}})
	if e := f.emptiedSlots(); len(e) > 0 {
		t.Fatalf("slots %v were left without a ready replica", e)
	}
}

func TestRollbackStopFirst(t *testing.T) {
	f := newFake()
	f.writable = true
	f.seed(1, 2)
	f.behave = func(rev, slot int) behavior {
		if rev == 2 && slot == 2 {
			return behavior{readyErr: errors.New("unhealthy")}
		}
		return behavior{}
	}
	res := Rollout(t.Context(), f, plan(2, 2, model.UpdateConfig{}), nil)
	wantOutcome(t, res, OutcomeRolledBack)
	wantState(t, f, map[int][]int{1: {1}, 2: {1}})
	// Stop-first rollback: the new replica goes before the old comes back.
	if retire, start := f.index("retire", 2, 1), f.index("start", 1, 1); !(retire < start) {
		t.Fatalf("slot 1: retire-new %d start-old %d", retire, start)
	}
}

func TestReadyTimeout(t *testing.T) {
	f := newFake()
	f.seed(1, 1)
	f.behave = func(rev, slot int) behavior {
		if rev == 2 {
			return behavior{readyDelay: time.Hour}
		}
		return behavior{}
	}
	p := plan(1, 1, model.UpdateConfig{})
	p.ReadyTimeout = 30 * time.Millisecond
	res := Rollout(t.Context(), f, p, nil)
	wantOutcome(t, res, OutcomeRolledBack)
	if want := "replica 1 of revision 2 did not become ready within 30ms"; res.Reason != want {
		t.Fatalf("reason %q, want %q", res.Reason, want)
	}
	wantState(t, f, map[int][]int{1: {1}})
}

func TestPauseLeavesItAsItIs(t *testing.T) {
	f := newFake()
	f.seed(1, 3)
	f.behave = func(rev, slot int) behavior {
		if rev == 2 && slot == 2 {
			return behavior{startErr: errors.New("no such image")}
		}
		return behavior{}
	}
	var ev events
	res := Rollout(t.Context(), f, plan(3, 3, model.UpdateConfig{FailureAction: ActionPause}), ev.add)
	wantOutcome(t, res, OutcomeFailed)
	if want := "replica 2 of revision 2 could not start: no such image"; res.Reason != want {
		t.Fatalf("reason %q, want %q", res.Reason, want)
	}
	wantState(t, f, map[int][]int{1: {2}, 2: {1}, 3: {1}})
	if !slices.Contains(ev.kinds(), EventPaused) {
		t.Fatalf("no paused event in %v", ev.kinds())
	}
}

func TestContinueAndMaxFailureRatio(t *testing.T) {
	failing := func(slots ...int) func(int, int) behavior {
		return func(rev, slot int) behavior {
			if rev == 2 && slices.Contains(slots, slot) {
				return behavior{readyErr: errors.New("exited with code 2")}
			}
			return behavior{}
		}
	}
	// 2 of 4 = 0.5, not over 0.5: the rollout goes on and succeeds (even
	// with failure_action rollback).
	f := newFake()
	f.seed(1, 4)
	f.behave = failing(2, 3)
	res := Rollout(t.Context(), f, plan(4, 4, model.UpdateConfig{MaxFailureRatio: 0.5}), nil)
	wantOutcome(t, res, OutcomeDeployed)
	if res.Failed != 2 || res.Updated != 2 || !strings.Contains(res.Reason, "2 of 4 replicas failed") {
		t.Fatalf("result %+v", res)
	}
	wantState(t, f, map[int][]int{1: {2}, 2: {1}, 3: {1}, 4: {2}})

	// 3 of 4 is over it; continue still goes through every slot.
	f = newFake()
	f.seed(1, 4)
	f.behave = failing(1, 2, 3)
	res = Rollout(t.Context(), f, plan(4, 4, model.UpdateConfig{MaxFailureRatio: 0.5, FailureAction: ActionContinue}), nil)
	wantOutcome(t, res, OutcomeFailed)
	if res.Failed != 3 || res.Updated != 1 {
		t.Fatalf("result %+v", res)
	}
	wantState(t, f, map[int][]int{1: {1}, 2: {1}, 3: {1}, 4: {2}})
}

func TestScaleUpWithinRollout(t *testing.T) {
	f := newFake()
	f.seed(1, 2)
	res := Rollout(t.Context(), f, plan(2, 4, model.UpdateConfig{Parallelism: par(0)}), nil)
	wantOutcome(t, res, OutcomeDeployed)
	if res.Updated != 4 {
		t.Fatalf("updated %d, want 4", res.Updated)
	}
	wantState(t, f, map[int][]int{1: {2}, 2: {2}, 3: {2}, 4: {2}})
	if e := f.emptiedSlots(); len(e) > 0 {
		t.Fatalf("slots %v were left without a ready replica", e)
	}
}

func TestScaleDownWithinRollout(t *testing.T) {
	f := newFake()
	f.seed(1, 4)
	res := Rollout(t.Context(), f, plan(4, 2, model.UpdateConfig{}), nil)
	wantOutcome(t, res, OutcomeDeployed)
	wantState(t, f, map[int][]int{1: {2}, 2: {2}})
	// The surplus goes last, once the new replicas have been watched.
	for s := 3; s <= 4; s++ {
		if f.index("retire", 1, s) < f.index("ready", 2, 2) {
			t.Fatalf("surplus slot %d retired before the new replicas were ready", s)
		}
	}
	if e := f.emptiedSlots(); !slices.Equal(e, []int{3, 4}) {
		t.Fatalf("slots emptied %v, want only the surplus [3 4]", e)
	}
}

func TestFailedScaleUpRollsBackNewSlots(t *testing.T) {
	f := newFake()
	f.seed(1, 1)
	f.behave = func(rev, slot int) behavior {
		if rev == 2 && slot == 3 {
			return behavior{readyErr: errors.New("exited with code 1")}
		}
		return behavior{}
	}
	res := Rollout(t.Context(), f, plan(1, 3, model.UpdateConfig{}), nil)
	wantOutcome(t, res, OutcomeRolledBack)
	// Back to one replica of revision 1: slot 2 did not exist before.
	wantState(t, f, map[int][]int{1: {1}})
}

func TestLeftoversAreOldReplicasOfTheirSlot(t *testing.T) {
	f := newFake()
	f.seed(1, 2)
	f.mu.Lock()
	f.add(7, 2, false) // an interrupted rollout's replica
	f.mu.Unlock()
	res := Rollout(t.Context(), f, plan(2, 2, model.UpdateConfig{}), nil)
	wantOutcome(t, res, OutcomeDeployed)
	wantState(t, f, map[int][]int{1: {2}, 2: {2}})
}

func TestAdoptsReadyReplicaOfSameRevision(t *testing.T) {
	f := newFake()
	f.seed(1, 2)
	f.mu.Lock()
	f.add(2, 1, true) // an earlier attempt at revision 2 got this far
	f.mu.Unlock()
	res := Rollout(t.Context(), f, plan(2, 2, model.UpdateConfig{}), nil)
	wantOutcome(t, res, OutcomeDeployed)
	wantState(t, f, map[int][]int{1: {2}, 2: {2}})
	starts := 0
	for _, o := range f.timeline {
		if o.kind == "start" {
			starts++
		}
	}
	if starts != 1 {
		t.Fatalf("%d replicas started, want 1 (slot 1 adopted)", starts)
	}
}

func TestCancelInterrupts(t *testing.T) {
	f := newFake()
	f.seed(1, 3)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	f.behave = func(rev, slot int) behavior {
		if rev == 2 && slot == 2 {
			return behavior{readyDelay: time.Hour}
		}
		return behavior{}
	}
	f.onStart = func(rev, slot int) {
		if rev == 2 && slot == 2 {
			cancel()
		}
	}
	begin := time.Now()
	res := Rollout(ctx, f, plan(3, 3, model.UpdateConfig{Monitor: time.Hour}), nil)
	wantOutcome(t, res, OutcomeInterrupted)
	if el := time.Since(begin); el > 2*time.Second {
		t.Fatalf("took %s to stop", el)
	}
	if f.index("start", 2, 3) != -1 {
		t.Fatal("slot 3 was started after the cancel")
	}
	// Left as is: slot 1 switched, slot 2 has both, slot 3 untouched.
	wantState(t, f, map[int][]int{1: {2}, 2: {1, 2}, 3: {1}})
}

func TestFirstDeploy(t *testing.T) {
	f := newFake()
	res := Rollout(t.Context(), f, plan(0, 3, model.UpdateConfig{Parallelism: par(0)}), nil)
	wantOutcome(t, res, OutcomeDeployed)
	wantState(t, f, map[int][]int{1: {2}, 2: {2}, 3: {2}})

	// Failing, there is nothing to roll back to: failed, left as is.
	f = newFake()
	f.behave = func(rev, slot int) behavior {
		if slot == 2 {
			return behavior{readyErr: errors.New("exited with code 1")}
		}
		return behavior{}
	}
	res = Rollout(t.Context(), f, plan(0, 2, model.UpdateConfig{}), nil)
	wantOutcome(t, res, OutcomeFailed)
	if !strings.Contains(res.Reason, "nothing to roll back to") {
		t.Fatalf("reason %q", res.Reason)
	}
	wantState(t, f, map[int][]int{1: {2}})
}

func TestInvalidPlan(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*Plan)
		want string
	}{
		{func(p *Plan) { p.Service, p.To.Service = "", "" }, "service is empty"},
		{func(p *Plan) { p.To.Number = 0 }, "revision number 0"},
		{func(p *Plan) { p.From.Number = 2 }, "both revision 2"},
		{func(p *Plan) { p.Replicas = -1 }, "replicas -1"},
		{func(p *Plan) { p.Update.Order = "sideways" }, `update_config.order "sideways"`},
		{func(p *Plan) { p.Rollback.FailureAction = ActionRollback }, `rollback_config.failure_action "rollback"`},
	} {
		f := newFake()
		f.seed(1, 1)
		p := plan(1, 1, model.UpdateConfig{})
		tc.mod(&p)
		res := Rollout(t.Context(), f, p, nil)
		if res.Outcome != OutcomeFailed || !strings.Contains(res.Reason, tc.want) {
			t.Errorf("result %+v, want failed with %q", res, tc.want)
		}
		if len(f.timeline) != 0 {
			t.Errorf("invalid plan %q touched the cluster", tc.want)
		}
	}
}

func TestNewPlan(t *testing.T) {
	f := newFake()
	f.writable = true
	to := rev(3, 0)
	to.Spec.Rollback = &model.UpdateConfig{Order: OrderStartFirst}
	p := NewPlan(f, nil, to)
	if p.Service != "web" || p.Replicas != 0 || p.Update.Order != OrderStopFirst || p.Rollback.Order != OrderStartFirst || *p.Update.Parallelism != 1 {
		t.Fatalf("plan %+v", p)
	}
}
