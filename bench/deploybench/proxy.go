//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

// Proxy throughput: one app container under the berth daemon, reached
// straight at its address, through berth's published port and through
// Debian's nginx, with the same wrk command, rounds interleaved.

const (
	proxyStack = "dbproxy"
	benchPath  = "/version" // a small dynamic response (JSON with the version and host)
)

type pathResult struct {
	Name   string      `json:"name"` // direct, berth, nginx
	Title  string      `json:"title"`
	URL    string      `json:"url"`
	Rounds []wrkResult `json:"rounds"`
	Median wrkResult   `json:"median"` // each field's median over the rounds
	// proxyPids lists the proxy's processes, whose CPU time is measured
	// around each run; nil for the direct path.
	proxyPids func() []int
}

type throughputResult struct {
	Command string       `json:"command"`
	Rounds  int          `json:"rounds"`
	Proxied bool         `json:"proxied"` // berth's published port is its proxy (not CNI portmap)
	Paths   []pathResult `json:"paths"`
	Seconds float64      `json:"seconds"` // one wrk run's duration
}

// path returns the result of the named path, or nil.
func (t *throughputResult) path(name string) *pathResult {
	if t == nil {
		return nil
	}
	for i := range t.Paths {
		if t.Paths[i].Name == name {
			return &t.Paths[i]
		}
	}
	return nil
}

// proxyServiceYAML is the service berth runs: the app image with a fast
// health check (the image's is every 5 s) and, for berth's proxy, HTTP mode.
func proxyServiceYAML(image string, replicas, port int) string {
	return fmt.Sprintf(`    image: %s
    deploy:
      replicas: %d
    ports: ["127.0.0.1:%d:8080"]
    healthcheck:
      test: ["CMD", "/app/goapp", "-healthcheck"]
      interval: 1s
      timeout: 1s
      retries: 3
    x-berth-proxy: {protocol: http, balance: round_robin, drain_timeout: 30s}
`, image, replicas, port)
}

func measureThroughput(ctx context.Context, o options, bd *berthDaemon, im *images, dir string, progress func(string, ...any)) (_ *throughputResult, err error) {
	res := &throughputResult{Command: "wrk " + strings.Join(wrkArgs(o.threads, o.conns, o.duration, "URL"), " "), Rounds: o.rounds, Proxied: bd.hasProxy, Seconds: o.duration.Seconds()}
	berthPort, err := benchkit.FreePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "proxy.yaml")
	yaml := "name: " + proxyStack + "\nservices:\n  app:\n" + proxyServiceYAML(im.berthRef(appVersions[0]), 1, berthPort)
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		return nil, err
	}
	progress("proxy: berth up of one app replica on 127.0.0.1:%d", berthPort)
	if _, err := bd.run(ctx, "up", "-f", file, "--wait"); err != nil {
		return nil, err
	}
	defer func() {
		if _, derr := bd.run(context.WithoutCancel(ctx), "down", "-p", proxyStack); err == nil && derr != nil {
			err = derr
		}
	}()
	cs, err := bd.ps(ctx, proxyStack)
	if err != nil {
		return nil, err
	}
	if len(cs) != 1 || cs[0].IP == "" {
		return nil, fmt.Errorf("berth ps -p %s: want one container with an address, got %+v", proxyStack, cs)
	}
	backend := cs[0].IP + ":8080"
	nginxPort, err := benchkit.FreePort()
	if err != nil {
		return nil, err
	}
	nginxAddr := fmt.Sprintf("127.0.0.1:%d", nginxPort)
	ng, err := startHostNginx(ctx, o.nginxBin, filepath.Join(dir, "nginx"), nginxAddr, backend, benchPath)
	if err != nil {
		return nil, err
	}
	defer ng.Stop(10 * time.Second)

	berthTitle := "berth proxy (published port)"
	if !bd.hasProxy {
		berthTitle = "berth published port (CNI portmap: this berth has no proxy)"
	}
	res.Paths = []pathResult{
		{Name: "direct", Title: "straight to the container (" + backend + ")", URL: "http://" + backend + benchPath},
		{Name: "berth", Title: berthTitle, URL: fmt.Sprintf("http://127.0.0.1:%d%s", berthPort, benchPath),
			proxyPids: func() []int { return berthProxyPids(bd.dir) }},
		{Name: "nginx", Title: "nginx reverse proxy (Debian, keepalive upstream)", URL: "http://" + nginxAddr + benchPath,
			proxyPids: func() []int { return processTree(ng.Pid()) }},
	}
	for _, p := range res.Paths {
		if err := waitHTTP(ctx, p.URL, 30*time.Second); err != nil {
			return nil, err
		}
		// Warm-up, not counted: connections, the proxies' pools, the
		// backend's goroutines.
		if _, err := runWrk(ctx, o.wrkBin, o.threads, o.conns, time.Second, p.URL); err != nil {
			return nil, err
		}
	}
	for r := range o.rounds {
		for i := range res.Paths {
			p := &res.Paths[(i+r)%len(res.Paths)] // round r starts at path r: each path takes each slot
			progress("proxy: round %d/%d, %s", r+1, o.rounds, p.Name)
			var pids []int
			if p.proxyPids != nil {
				pids = p.proxyPids()
			}
			cpu0 := cpuSeconds(pids)
			w, err := runWrk(ctx, o.wrkBin, o.threads, o.conns, o.duration, p.URL)
			if err != nil {
				return nil, err
			}
			w.ProxyCPUSecs = cpuSeconds(pids) - cpu0
			p.Rounds = append(p.Rounds, w)
		}
	}
	for i := range res.Paths {
		res.Paths[i].Median = medianWrk(res.Paths[i].Rounds)
	}
	return res, nil
}

// medianWrk takes each metric's median over the rounds; errors are summed,
// so a single bad round still shows.
func medianWrk(rs []wrkResult) wrkResult {
	var m wrkResult
	pick := func(get func(wrkResult) float64) float64 {
		vs := make([]float64, len(rs))
		for i, r := range rs {
			vs[i] = get(r)
		}
		return benchkit.Median(vs)
	}
	m.ReqPerSec = pick(func(r wrkResult) float64 { return r.ReqPerSec })
	m.P50ms = pick(func(r wrkResult) float64 { return r.P50ms })
	m.P90ms = pick(func(r wrkResult) float64 { return r.P90ms })
	m.P99ms = pick(func(r wrkResult) float64 { return r.P99ms })
	m.Requests = int64(pick(func(r wrkResult) float64 { return float64(r.Requests) }))
	m.ProxyCPUSecs = pick(func(r wrkResult) float64 { return r.ProxyCPUSecs })
	for _, r := range rs {
		m.SocketErrors += r.SocketErrors
		m.Non2xx += r.Non2xx
	}
	return m
}
