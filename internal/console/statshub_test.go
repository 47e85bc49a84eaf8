package console

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// countingDomain counts the reads of the fake's Stacks, Revisions and
// Stats ports, and how many Stats samplers run at once.
type countingDomain struct {
	*fakeDomain
	mu                         sync.Mutex
	stacksReads, revisionReads int
	samplers, maxSamplers      int // running now, most at once
	samplersStarted            int
	samples                    int
}

func (c *countingDomain) Stacks(ctx context.Context) ([]Stack, error) {
	c.mu.Lock()
	c.stacksReads++
	c.mu.Unlock()
	return c.fakeDomain.Stacks(ctx)
}

func (c *countingDomain) Revisions(ctx context.Context, stack, service string) ([]Revision, error) {
	c.mu.Lock()
	c.revisionReads++
	c.mu.Unlock()
	return c.fakeDomain.Revisions(ctx, stack, service)
}

func (c *countingDomain) Stats(ctx context.Context, stack, service string, fn func(StatsSample) error) error {
	c.mu.Lock()
	c.samplers++
	c.samplersStarted++
	c.maxSamplers = max(c.maxSamplers, c.samplers)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.samplers--
		c.mu.Unlock()
	}()
	return c.fakeDomain.Stats(ctx, stack, service, func(s StatsSample) error {
		c.mu.Lock()
		c.samples++
		c.mu.Unlock()
		return fn(s)
	})
}

func (c *countingDomain) counts() (stacks, revisions, samplers, maxSamplers, started, samples int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stacksReads, c.revisionReads, c.samplers, c.maxSamplers, c.samplersStarted, c.samples
}

// newCountingServer is newTestServer over a countingDomain.
func newCountingServer(t *testing.T) (*httptest.Server, *countingDomain) {
	t.Helper()
	d := &countingDomain{fakeDomain: newFake()}
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Ports: Ports{Stacks: d, Deploys: d, Logs: d, Stats: d}, Users: Users{"ops": hash}, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.Close(); s.Close() })
	return ts, d
}

// stream opens an event stream and returns its events; it ends with ctx.
func stream(t *testing.T, ctx context.Context, c *http.Client, u string) <-chan string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	events := make(chan string, 64)
	go func() {
		defer resp.Body.Close()
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var ev strings.Builder
		for sc.Scan() {
			if sc.Text() != "" {
				ev.WriteString(sc.Text() + "\n")
				continue
			}
			if strings.HasPrefix(ev.String(), "event: ") {
				select {
				case events <- ev.String():
				default: // the test reads only the first few
				}
			}
			ev.Reset()
		}
	}()
	return events
}

func waitEvent(t *testing.T, events <-chan string, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("the stream ended before an event with %q", want)
			}
			if strings.Contains(e, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no event with %q", want)
		}
	}
}

// waitFor polls cond until it holds or 10 seconds passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// K open sparkline streams of a service share one sampler: the Stats port
// runs once, not K times, and stops when the last stream leaves; a page
// opened later starts it again.
func TestStatsSamplerSharedByStreams(t *testing.T) {
	ts, d := newCountingServer(t)
	c := client(t)
	login(t, ts, c)
	c.Timeout = 0
	const k = 5
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var streams []<-chan string
	for range k {
		streams = append(streams, stream(t, ctx, c, ts.URL+"/events/stacks/shop/services/web/stats"))
	}
	_, _, _, _, _, before := d.counts()
	for _, ev := range streams {
		waitEvent(t, ev, `data-replica="shop-web-2"`)
	}
	waitFor(t, "no samples", func() bool { _, _, _, _, _, n := d.counts(); return n >= before+5 })
	for _, ev := range streams { // every stream still gets every tick's update
		waitEvent(t, ev, "<polyline")
	}
	_, _, running, most, started, _ := d.counts()
	if most != 1 || started != 1 || running != 1 {
		t.Errorf("%d streams: %d samplers started, %d at most at once, %d running; want 1", k, started, most, running)
	}
	cancel()
	waitFor(t, "the sampler runs on with no stream open", func() bool { _, _, n, _, _, _ := d.counts(); return n == 0 })

	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	waitEvent(t, stream(t, ctx2, c, ts.URL+"/events/stacks/shop/services/web/stats"), `data-replica="shop-web-1"`)
	if _, _, _, _, started, _ := d.counts(); started != 2 {
		t.Errorf("a stream after the others left: %d samplers started in all, want 2", started)
	}
}

// K open service pages read the stacks once per poll between them (the
// hub's read), not once per page per poll.
func TestServiceStreamsShareTheStacksRead(t *testing.T) {
	ts, d := newCountingServer(t)
	c := client(t)
	login(t, ts, c)
	c.Timeout = 0
	const k = 5
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range k {
		waitEvent(t, stream(t, ctx, c, ts.URL+"/events/stacks/shop/services/web"), "shop-web-2")
	}
	s0, r0, _, _, _, _ := d.counts()
	// Every stream reads the revisions once per poll: wait for 10 polls.
	waitFor(t, "the streams do not poll", func() bool { _, r, _, _, _, _ := d.counts(); return r >= r0+10*k })
	s1, r1, _, _, _, _ := d.counts()
	polls := (r1 - r0) / k
	if reads := s1 - s0; reads > polls+2 {
		t.Errorf("%d service streams over about %d polls read the stacks %d times; want one read per poll", k, polls, reads)
	}
}

// The sparklines are rendered once per sample for every page open on the
// service, not once per page.
func TestStatsRenderedOncePerSample(t *testing.T) {
	d := &countingDomain{fakeDomain: newFake()}
	var mu sync.Mutex
	renders := 0
	h := newStatsHub(d, func(list []*series) ([]byte, error) {
		mu.Lock()
		renders++
		mu.Unlock()
		return []byte("svg"), nil
	})
	defer h.close()
	const k = 5
	var subs []*statsSub
	for range k {
		sub, cancel := h.subscribe("shop", "web")
		defer cancel()
		subs = append(subs, sub)
	}
	waitFor(t, "no samples", func() bool { _, _, _, _, _, n := d.counts(); return n >= 10 })
	for _, sub := range subs {
		<-sub.C
		if out, err := sub.fragment(); string(out) != "svg" || err != nil {
			t.Fatalf("fragment %q, %v", out, err)
		}
	}
	mu.Lock()
	got := renders
	mu.Unlock()
	if _, _, _, _, _, samples := d.counts(); got > samples {
		t.Errorf("%d pages: %d renders for %d samples, want one a sample", k, got, samples)
	}
}
