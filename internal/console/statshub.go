package console

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
)

// statsHub runs one sampler per stack behind every open sparkline
// stream of that stack: the Stats port is read once a second whatever the
// number of open service pages, from the first stream's arrival to the
// last one's departure. It keeps each replica's last minute, so a page
// opened while others watch shows it at once.
type statsHub struct {
	src Stats

	mu     sync.Mutex
	stacks map[string]*stackSampler
	closed bool
}

// stackSampler is one stack's running sampler and what it collected.
type stackSampler struct {
	cancel context.CancelFunc
	subs   map[chan struct{}]struct{}
	series map[string]*stackSeries // by replica name
	err    error                   // the port's error; the sampler has stopped
}

// stackSeries is a replica's series and the service it belongs to.
type stackSeries struct {
	service string
	series
}

func newStatsHub(src Stats) *statsHub {
	return &statsHub{src: src, stacks: map[string]*stackSampler{}}
}

// statsSub is one stream's subscription to its stack's sampler.
type statsSub struct {
	// C says "new samples" (coalesced: a slow reader gets one signal for
	// several samples); it is signalled at once when samples are already
	// there.
	C  <-chan struct{}
	h  *statsHub
	ss *stackSampler
}

// errStatsStopped is what streams get when the console closes.
var errStatsStopped = errors.New("the console is shutting down")

// subscribe subscribes to stack's samples, starting its sampler if none
// runs, and returns the subscription and its cancel (which stops the
// sampler when it was the last).
func (h *statsHub) subscribe(stack string) (*statsSub, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	ss := h.stacks[stack]
	if ss == nil {
		ctx, cancel := context.WithCancel(context.Background())
		ss = &stackSampler{cancel: cancel, subs: map[chan struct{}]struct{}{}, series: map[string]*stackSeries{}}
		if h.closed {
			cancel()
			ss.err = errStatsStopped
		} else {
			h.stacks[stack] = ss
			go h.run(ctx, stack, ss)
		}
	}
	ss.subs[ch] = struct{}{}
	if len(ss.series) > 0 || ss.err != nil {
		ch <- struct{}{}
	}
	return &statsSub{C: ch, h: h, ss: ss}, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(ss.subs, ch)
		if len(ss.subs) == 0 && h.stacks[stack] == ss { // the last one left: stop sampling
			ss.cancel()
			delete(h.stacks, stack)
		}
	}
}

// run samples stack until its last stream leaves (or the port fails).
func (h *statsHub) run(ctx context.Context, stack string, ss *stackSampler) {
	err := h.src.Stats(ctx, stack, func(sample StatsSample) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		seen := map[string]bool{}
		for _, st := range sample.Replicas {
			seen[st.Name] = true
			sr := ss.series[st.Name]
			if sr == nil {
				sr = &stackSeries{service: st.Service, series: series{Name: st.Name}}
				ss.series[st.Name] = sr
			}
			sr.add(st)
		}
		for name := range ss.series { // replicas gone (a rollout retired them)
			if !seen[name] {
				delete(ss.series, name)
			}
		}
		ss.notify()
		return nil
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	// The port failed (or ended): its streams report it and end; the next
	// stream starts a new sampler.
	if err == nil {
		err = errors.New("the stats sampler ended")
	}
	ss.err = err
	ss.notify()
	if h.stacks[stack] == ss {
		delete(h.stacks, stack)
	}
}

func (ss *stackSampler) notify() {
	for ch := range ss.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// series returns copies of service's series, sorted by replica, or the
// sampler's error.
func (s *statsSub) series(service string) ([]*series, error) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	if s.ss.err != nil {
		return nil, s.ss.err
	}
	var out []*series
	for _, sr := range s.ss.series {
		if sr.service == service {
			out = append(out, &series{Name: sr.Name, CPU: slices.Clone(sr.CPU), Mem: slices.Clone(sr.Mem)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// close stops every sampler; their streams end.
func (h *statsHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for stack, ss := range h.stacks {
		ss.cancel()
		ss.err = errStatsStopped
		ss.notify()
		delete(h.stacks, stack)
	}
}
