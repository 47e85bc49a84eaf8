package console

import (
	"context"
	"errors"
	"sort"
	"sync"
)

// statsHub runs one sampler per service behind every open sparkline
// stream of that service: the Stats port reads the service's replicas
// once a second whatever the number of open pages, from the first
// stream's arrival to the last one's departure, and reads no other
// service's. It keeps each replica's last minute, so a page opened while
// others watch shows it at once.
type statsHub struct {
	src Stats
	// render renders a service's series (sorted by replica) as the
	// page's fragment: once per sample, whatever the number of pages.
	render func([]*series) ([]byte, error)

	mu       sync.Mutex
	samplers map[serviceKey]*sampler
	closed   bool
}

type serviceKey struct{ stack, service string }

// sampler is one service's running sampler and what it collected.
type sampler struct {
	cancel context.CancelFunc
	subs   map[chan struct{}]struct{}
	series map[string]*series // by replica name
	out    []byte             // the last sample's fragment
	err    error              // the port's or render's error; the sampler has stopped
}

func newStatsHub(src Stats, render func([]*series) ([]byte, error)) *statsHub {
	return &statsHub{src: src, render: render, samplers: map[serviceKey]*sampler{}}
}

// statsSub is one stream's subscription to its service's sampler.
type statsSub struct {
	// C says "new samples" (coalesced: a slow reader gets one signal for
	// several samples); it is signalled at once when samples are already
	// there.
	C  <-chan struct{}
	h  *statsHub
	ss *sampler
}

// errStatsStopped is what streams get when the console closes.
var errStatsStopped = errors.New("the console is shutting down")

// subscribe subscribes to the samples of stack's service, starting its
// sampler if none runs, and returns the subscription and its cancel
// (which stops the sampler when it was the last).
func (h *statsHub) subscribe(stack, service string) (*statsSub, func()) {
	key := serviceKey{stack, service}
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	ss := h.samplers[key]
	if ss == nil {
		ctx, cancel := context.WithCancel(context.Background())
		ss = &sampler{cancel: cancel, subs: map[chan struct{}]struct{}{}, series: map[string]*series{}}
		if h.closed {
			cancel()
			ss.err = errStatsStopped
		} else {
			h.samplers[key] = ss
			go h.run(ctx, key, ss)
		}
	}
	ss.subs[ch] = struct{}{}
	if ss.out != nil || ss.err != nil {
		ch <- struct{}{}
	}
	return &statsSub{C: ch, h: h, ss: ss}, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(ss.subs, ch)
		if len(ss.subs) == 0 && h.samplers[key] == ss { // the last one left: stop sampling
			ss.cancel()
			delete(h.samplers, key)
		}
	}
}

// run samples the service until its last stream leaves (or the port
// fails).
func (h *statsHub) run(ctx context.Context, key serviceKey, ss *sampler) {
	err := h.src.Stats(ctx, key.stack, key.service, func(sample StatsSample) error {
		list := ss.add(key.service, sample) // only this goroutine writes the series
		out, err := h.render(list)
		if err != nil {
			return err
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ss.out = out
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
	if h.samplers[key] == ss {
		delete(h.samplers, key)
	}
}

func (ss *sampler) notify() {
	for ch := range ss.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// fragment returns the last sample's fragment, or the sampler's error.
func (s *statsSub) fragment() ([]byte, error) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.ss.out, s.ss.err
}

// add adds sample's replicas of service to their series, forgets the
// replicas gone (a rollout retired them), and returns the series sorted
// by replica.
func (ss *sampler) add(service string, sample StatsSample) []*series {
	seen := map[string]bool{}
	for _, st := range sample.Replicas {
		if st.Service != service {
			continue
		}
		seen[st.Name] = true
		sr := ss.series[st.Name]
		if sr == nil {
			sr = &series{Name: st.Name}
			ss.series[st.Name] = sr
		}
		sr.add(st)
	}
	var list []*series
	for name, sr := range ss.series {
		if !seen[name] {
			delete(ss.series, name)
			continue
		}
		list = append(list, sr)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list
}

// close stops every sampler; their streams end.
func (h *statsHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for key, ss := range h.samplers {
		ss.cancel()
		ss.err = errStatsStopped
		ss.notify()
		delete(h.samplers, key)
	}
}
