package engine

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/model"
)

func TestStatsSampleMath(t *testing.T) {
	s := &statsSampler{hostMemory: 1000, prev: map[string]cpuReading{}}
	cs := []Container{{ID: "a", Name: "demo-web-1"}, {ID: "b", Name: "demo-web-2"}, {ID: "gone", Name: "demo-web-3"}}
	readings := map[string]Stats{
		"a": {CPUNanos: 1e9, MemoryBytes: 250, MemoryLimit: 500, Pids: 3, NetRxBytes: 10, NetTxBytes: 20},
		"b": {CPUNanos: 5e9, MemoryBytes: 100}, // no limit: the host's memory
	}
	read := func(id string) (Stats, error) {
		st, ok := readings[id]
		if !ok {
			return Stats{}, errors.New("cgroup gone")
		}
		return st, nil
	}
	t0 := time.Unix(1000, 0)
	first := s.sample(t0, cs, read)
	if len(first.Containers) != 2 || first.Containers[0].CPUPercent != 0 {
		t.Fatalf("first sample: %+v", first)
	}
	// Over 2 s, a used 1 s of CPU (50%) and b 3 s (150%: more than one core).
	readings["a"] = Stats{CPUNanos: 2e9, MemoryBytes: 250, MemoryLimit: 500, Pids: 3, NetRxBytes: 10, NetTxBytes: 20}
	readings["b"] = Stats{CPUNanos: 8e9, MemoryBytes: 100}
	got := s.sample(t0.Add(2*time.Second), cs, read)
	a, b := got.Containers[0], got.Containers[1]
	if a.Name != "demo-web-1" || math.Abs(a.CPUPercent-50) > 1e-9 || a.MemoryPercent != 50 || a.MemoryLimit != 500 ||
		a.Pids != 3 || a.NetRx != 10 || a.NetTx != 20 {
		t.Fatalf("a: %+v", a)
	}
	if math.Abs(b.CPUPercent-150) > 1e-9 || b.MemoryLimit != 1000 || b.MemoryPercent != 10 {
		t.Fatalf("b: %+v", b)
	}
	// A counter going backwards (container recreated) reads 0, not garbage.
	readings["a"] = Stats{CPUNanos: 1}
	if got := s.sample(t0.Add(3*time.Second), cs, read); got.Containers[0].CPUPercent != 0 {
		t.Fatalf("after a counter reset: %+v", got.Containers[0])
	}
}

func TestStatsAPIStreamsSamples(t *testing.T) {
	old := statsInterval
	statsInterval = 20 * time.Millisecond
	defer func() { statsInterval = old }()
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	upDemo(t, e)
	other := model.StackSpec{Name: "other", Services: []model.ServiceSpec{{Name: "db", Image: "x", Replicas: 1}}}
	if err := e.Up(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	rt.stats = func(string) (Stats, error) {
		return Stats{MemoryBytes: 4096, MemoryLimit: 1 << 20, Pids: 2, NetRxBytes: 7}, nil
	}
	c := serveAPI(t, e)

	var samples []StatsSample
	collect := func(raw json.RawMessage) error {
		var s StatsSample
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		samples = append(samples, s)
		if len(samples) == 3 {
			return errStop
		}
		return nil
	}
	// One sample, then the response ends.
	if err := c.Stream(context.Background(), http.MethodGet, "/stats", url.Values{"stack": {"demo"}}, nil, collect); err != nil {
		t.Fatal(err)
	}
	if len(samples) != 1 || len(samples[0].Containers) != 2 {
		t.Fatalf("single sample: %+v", samples)
	}
	w := samples[0].Containers[0]
	if w.Name != "demo-web-1" || w.MemoryBytes != 4096 || w.Pids != 2 || w.NetRx != 7 || w.MemoryPercent != 100*4096.0/(1<<20) {
		t.Fatalf("line: %+v", w)
	}
	// Streaming goes on until the client stops reading; all stacks without stack=.
	samples = nil
	if err := c.Stream(context.Background(), http.MethodGet, "/stats", url.Values{"stream": {"1"}}, nil, collect); !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	if len(samples) != 3 || len(samples[2].Containers) != 3 || !samples[2].Time.After(samples[1].Time) {
		t.Fatalf("stream: %+v", samples)
	}
}

var errStop = errors.New("enough samples")

// Sampling one service reads only its containers, not the rest of the
// stack's (the console's sparklines of one service of a large stack).
func TestSampleStatsOfOneServiceReadsOnlyIt(t *testing.T) {
	old := statsInterval
	statsInterval = 5 * time.Millisecond
	defer func() { statsInterval = old }()
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	spec := model.StackSpec{Name: "big", Services: []model.ServiceSpec{{Name: "web", Image: "x", Replicas: 2}, {Name: "db", Image: "x", Replicas: 1}, {Name: "cache", Image: "x", Replicas: 3}}}
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	web := map[string]bool{}
	for _, c := range e.ServiceContainers("big", "web") {
		web[c.ID] = true
	}
	var mu sync.Mutex
	read := map[string]int{}
	rt.stats = func(id string) (Stats, error) {
		mu.Lock()
		read[id]++
		mu.Unlock()
		return Stats{MemoryBytes: 1}, nil
	}
	n := 0
	err := e.SampleStats(context.Background(), "big", "web", func(s StatsSample) error {
		if len(s.Containers) != 2 || s.Containers[0].Service != "web" || s.Containers[1].Service != "web" {
			t.Fatalf("sample of big/web: %+v", s.Containers)
		}
		if n++; n == 3 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, times := range read {
		if !web[id] {
			t.Errorf("container %s of another service read %d times", id, times)
		}
	}
	if len(read) != 2 {
		t.Errorf("read %d containers, want web's 2", len(read))
	}
}
