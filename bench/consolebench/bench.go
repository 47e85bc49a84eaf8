//go:build linux

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

// output is the -json file.
type output struct {
	Meta    meta         `json:"meta"`
	Pages   []pageResult `json:"pages"`
	CPU     []cpuCase    `json:"cpu"`
	Targets []target     `json:"targets"`
}

type meta struct {
	benchkit.Host
	Berth       string  `json:"berth"`
	Services    int     `json:"services"`
	Requests    int     `json:"requests"`
	WindowSecs  float64 `json:"window_seconds"`
	Subscribers int     `json:"subscribers"`
	LoadBefore  string  `json:"load_before"` // /proc/loadavg at the start
	LoadAfter   string  `json:"load_after"`
	TotalSecs   float64 `json:"total_seconds"`
}

// pageResult is one page kind's first-byte times.
type pageResult struct {
	page
	Bytes  int       `json:"bytes"`
	MS     []float64 `json:"ms"`
	Median float64   `json:"median_ms"`
	P95    float64   `json:"p95_ms"`
	Max    float64   `json:"max_ms"`
}

// cpuCase is the daemon's CPU over one window.
type cpuCase struct {
	Name     string  `json:"name"`
	Browsers int     `json:"browsers"`
	Streams  int     `json:"streams"`
	Events   int64   `json:"events"` // received by all streams in the window
	Secs     float64 `json:"seconds"`
	CPUSecs  float64 `json:"cpu_seconds"`
	Percent  float64 `json:"percent"` // of one CPU
	Added    float64 `json:"added_percent"`
	// Judged: the target applies (one page, whatever the number of
	// browsers on it); the case of several pages open is reported only.
	Judged bool `json:"judged"`
	// MachineBusy is the whole machine's CPU use in the window, in
	// percent of one CPU: other processes, i.e. noise.
	MachineBusy float64 `json:"machine_busy_percent"`
}

type target struct {
	Name     string `json:"name"`
	Required string `json:"required"`
	Measured string `json:"measured"`
	Result   string `json:"result"`
}

var imageLink = regexp.MustCompile(`/images/(sha256:[0-9a-f]{64})`)

func bench(ctx context.Context, o options, progress io.Writer) (benchkit.Result, error) {
	say := benchkit.Progress(progress, "consolebench")
	if os.Geteuid() != 0 {
		return benchkit.Result{}, errors.New("needs root (the daemon runs containers)")
	}
	t0 := time.Now()
	out := &output{Meta: meta{Host: benchkit.ReadHost(), Services: o.services, Requests: o.requests, WindowSecs: o.window.Seconds(), Subscribers: o.subscribers, LoadBefore: loadAverage()}}
	root, err := benchkit.ModuleRoot(ctx, "consolebench")
	if err != nil {
		return benchkit.Result{}, err
	}
	work, done, err := benchkit.WorkDir("", "consolebench", o.Keep, progress)
	if err != nil {
		return benchkit.Result{}, err
	}
	defer done()
	bin := o.berthBin
	if bin == "" {
		bin = filepath.Join(work, "berth")
		say("building berth")
		if err := benchkit.GoBuild(ctx, root, bin, "./cmd/berth"); err != nil {
			return benchkit.Result{}, err
		}
	}
	out.Meta.Berth = benchkit.VersionLine(ctx, nil, bin, "version")
	say("building the busybox image")
	ref, err := buildImage(ctx, bin, work, o.busybox)
	if err != nil {
		return benchkit.Result{}, err
	}
	password := randomHex(12)
	users := filepath.Join(work, "console.htpasswd")
	if err := writeUsers(users, password); err != nil {
		return benchkit.Result{}, err
	}
	say("starting berth daemon --console")
	d, err := startDaemon(ctx, bin, filepath.Join(work, "daemon"), users)
	if err != nil {
		return benchkit.Result{}, err
	}
	defer d.Stop(15 * time.Second)
	file := filepath.Join(work, "stack.yaml")
	if err := os.WriteFile(file, []byte(stackYAML(ref, o.services)), 0o644); err != nil {
		return benchkit.Result{}, err
	}
	say("berth up of %d services", o.services)
	// The stack goes before the daemon, on every exit path: its shims
	// would keep the containers running.
	defer func() {
		if err := d.down(context.WithoutCancel(ctx)); err != nil {
			say("berth down: %v", err)
		}
	}()
	if err := d.up(ctx, file, o.services); err != nil {
		return benchkit.Result{}, err
	}

	b := newBrowser(d.console)
	if err := b.login(ctx, consoleUser, password); err != nil {
		return benchkit.Result{}, err
	}
	svc := serviceName(1)
	body, _, err := b.get(ctx, "/stacks/"+stackName+"/services/"+svc)
	if err != nil {
		return benchkit.Result{}, err
	}
	m := imageLink.FindStringSubmatch(body)
	if m == nil {
		return benchkit.Result{}, fmt.Errorf("the service page links no image:\n%s", benchkit.Tail([]byte(body), 2000))
	}
	pages := []page{
		{Name: fmt.Sprintf("stacks (%d services)", o.services), Path: "/", Want: fmt.Sprintf(`data-service="%s"`, serviceName(o.services))},
		{Name: "service", Path: "/stacks/" + stackName + "/services/" + svc, Want: fmt.Sprintf("%s line %d", svc, logLines)},
		{Name: "service, one replica's logs", Path: "/stacks/" + stackName + "/services/" + svc + "?replica=1", Want: fmt.Sprintf("%s line %d", svc, logLines)},
		{Name: "image", Path: "/images/" + m[1], Want: "Layers"},
	}
	say("first byte: %d requests per page kind", o.requests)
	if out.Pages, err = measurePages(ctx, b, pages, o.requests); err != nil {
		return benchkit.Result{}, err
	}

	// Every browser logs in on its own (its own session), as people do.
	browsers := make([]*browser, o.subscribers)
	for i := range browsers {
		browsers[i] = newBrowser(d.console)
		if err := browsers[i].login(ctx, consoleUser, password); err != nil {
			return benchkit.Result{}, err
		}
	}
	// The streams a browser opens on each page; the logs stream sends
	// only new lines (the page has the last 100), so none comes.
	stacksPage := func(int) []stream { return []stream{{"/events/stacks", true}} }
	servicePageOf := func(service func(i int) string) func(int) []stream {
		return func(i int) []stream {
			p := "/events/stacks/" + stackName + "/services/" + service(i)
			return []stream{{p, true}, {p + "/stats", true}, {p + "/logs?replica=0", false}}
		}
	}
	oneService := servicePageOf(func(int) string { return svc })
	manyServices := servicePageOf(func(i int) string { return serviceName(i%o.services + 1) })
	k := o.subscribers
	cases := []struct {
		name    string
		n       int
		streams func(int) []stream
		judged  bool
	}{
		{"no stream open", 0, nil, false},
		{"stacks page, 1 browser", 1, stacksPage, true},
		{fmt.Sprintf("stacks page, %d browsers", k), k, stacksPage, true},
		{"service page, 1 browser", 1, oneService, true},
		{fmt.Sprintf("service page, %d browsers", k), k, oneService, true},
		{fmt.Sprintf("%d services' pages, 1 browser each", k), k, manyServices, false},
		{"no stream open, again", 0, nil, false},
	}
	for _, c := range cases {
		say("daemon CPU over %s: %s", o.window, c.name)
		res, err := measureCPU(ctx, d.Pid(), o.window, func(ctx context.Context) ([]*subscription, error) {
			var subs, first []*subscription
			for i := range c.n {
				for _, st := range c.streams(i) {
					s, err := browsers[i].subscribe(ctx, st.path)
					if err != nil {
						return nil, err
					}
					subs = append(subs, s)
					if st.sendsAtOnce {
						first = append(first, s)
					}
				}
			}
			for _, s := range first {
				if err := s.waitFirst(30 * time.Second); err != nil {
					return nil, err
				}
			}
			return subs, nil
		})
		if err != nil {
			return benchkit.Result{}, fmt.Errorf("%s: %w", c.name, err)
		}
		res.Name, res.Browsers, res.Judged = c.name, c.n, c.judged
		out.CPU = append(out.CPU, res)
	}
	var idle []float64
	for _, c := range out.CPU {
		if c.Streams == 0 {
			idle = append(idle, c.Percent)
		}
	}
	base := benchkit.Median(idle)
	for i := range out.CPU {
		out.CPU[i].Added = out.CPU[i].Percent - base
	}
	out.Targets = targets(out)
	out.Meta.LoadAfter = loadAverage()
	out.Meta.TotalSecs = time.Since(t0).Seconds()
	missed := false
	for _, t := range out.Targets {
		missed = missed || t.Result != "PASS"
	}
	return benchkit.Result{Markdown: markdown(out), Data: out, Missed: missed}, nil
}

// stream is an event stream a page opens.
type stream struct {
	path        string
	sendsAtOnce bool // its first event comes when it opens
}

// measurePages times requests GETs of every page kind, the kinds taking
// turns, after 2 untimed ones each.
func measurePages(ctx context.Context, b *browser, pages []page, requests int) ([]pageResult, error) {
	res := make([]pageResult, len(pages))
	for i, p := range pages {
		res[i].page = p
		for range 2 {
			if _, _, err := b.firstByte(ctx, p); err != nil {
				return nil, err
			}
		}
	}
	for range requests {
		for i, p := range pages {
			d, n, err := b.firstByte(ctx, p)
			if err != nil {
				return nil, err
			}
			res[i].Bytes = n
			res[i].MS = append(res[i].MS, float64(d.Microseconds())/1000)
		}
	}
	for i := range res {
		res[i].Median, res[i].P95, res[i].Max = benchkit.Median(res[i].MS), quantile(res[i].MS, 0.95), quantile(res[i].MS, 1)
	}
	return res, nil
}

// measureCPU opens the case's streams (open returns once each has had its
// first event), then reads the daemon's CPU time over window.
func measureCPU(ctx context.Context, pid int, window time.Duration, open func(context.Context) ([]*subscription, error)) (cpuCase, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	subs, err := open(sctx)
	if err != nil {
		return cpuCase{}, err
	}
	events := func() int64 {
		var n int64
		for _, s := range subs {
			n += s.events.Load()
		}
		return n
	}
	e0, m0 := events(), benchkit.MachineCPU()
	c0, err := processCPU(pid)
	if err != nil {
		return cpuCase{}, err
	}
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return cpuCase{}, ctx.Err()
	case <-time.After(window): // the measurement window, not synchronisation
	}
	c1, err := processCPU(pid)
	if err != nil {
		return cpuCase{}, err
	}
	secs := time.Since(t0).Seconds()
	res := cpuCase{Streams: len(subs), Events: events() - e0, Secs: secs, CPUSecs: c1 - c0, Percent: 100 * (c1 - c0) / secs, MachineBusy: benchkit.MachineCPU().BusySince(m0)}
	for _, s := range subs {
		select {
		case <-s.done:
			return cpuCase{}, fmt.Errorf("a stream ended during the window: %v", s.err)
		default:
		}
	}
	cancel()
	for _, s := range subs {
		<-s.done
	}
	return res, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
