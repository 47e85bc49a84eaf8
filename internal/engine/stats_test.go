package engine

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
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
