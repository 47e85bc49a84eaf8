//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

// Proxy throughput: one backend container under the berth daemon, reached
// straight at its address, through berth's published port and through
// Debian's nginx, with the same wrk command, rounds interleaved; and the
// same over TLS (one more container of the same image behind a TLS port,
// nginx with the same certificate in front of that container).

const proxyStack = "dbproxy"

// benchPath is what wrk fetches from the backend: goapp's small dynamic
// JSON answer, or the nginx example's index.html.
func benchPath(backend string) string {
	if backend == "nginx" {
		return "/"
	}
	return "/version"
}

type pathResult struct {
	Name   string      `json:"name"` // direct, berth, nginx, berth-tls, nginx-tls
	Title  string      `json:"title"`
	URL    string      `json:"url"`
	Rounds []wrkResult `json:"rounds"`
	Median wrkResult   `json:"median"` // each field's median over the rounds
	// proxyPids lists the proxy's processes, whose CPU time is measured
	// around each run; nil for the direct path.
	proxyPids func() []int
}

// anchor is the path a path is compared with: nginx over the same
// transport.
func (p *pathResult) anchor() string {
	if strings.HasSuffix(p.Name, "-tls") {
		return "nginx-tls"
	}
	return "nginx"
}

type throughputResult struct {
	Command string       `json:"command"`
	Backend string       `json:"backend"` // goapp or nginx
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

// throughputYAML is the throughput stack: service app on a plain port
// and service tls (the same image) on a TLS port with cert and key; conf,
// when set, is bind-mounted as the backend's /etc/nginx/nginx.conf.
func throughputYAML(image string, port, tlsPort int, cert, key, conf string) string {
	svc := func(port int, tls string) string {
		s := fmt.Sprintf(`    image: %s
    ports: ["127.0.0.1:%d:8080"]
    x-berth-proxy: {protocol: http, balance: round_robin%s}
`, image, port, tls)
		if conf != "" {
			s += fmt.Sprintf("    volumes: [\"%s:/etc/nginx/nginx.conf:ro\"]\n", conf)
		}
		return s
	}
	return "name: " + proxyStack + "\nservices:\n  app:\n" + svc(port, "") + "  tls:\n" + svc(tlsPort, fmt.Sprintf(", tls: {cert: %s, key: %s}", cert, key))
}

func measureThroughput(ctx context.Context, o options, bd *berthDaemon, im *images, dir string, progress func(string, ...any)) (_ *throughputResult, err error) {
	res := &throughputResult{Command: "wrk " + strings.Join(wrkArgs(o.threads, o.conns, o.duration, "URL"), " "), Backend: o.backend, Rounds: o.rounds, Proxied: bd.hasProxy, Seconds: o.duration.Seconds()}
	path := benchPath(o.backend)
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	berthPort, berthTLSPort, nginxPort, nginxTLSPort := ports[0], ports[1], ports[2], ports[3]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cert, key, err := writeSelfSigned(dir)
	if err != nil {
		return nil, err
	}
	image, conf := im.berthRef(appVersions[0]), ""
	if o.backend == "nginx" {
		// The example's nginx.conf with a worker per CPU: with its one
		// worker the backend, not the proxy in front, caps every path.
		image, conf = im.nginxRef(), filepath.Join(dir, "backend-nginx.conf")
		src, err := os.ReadFile(im.nginxConf)
		if err != nil {
			return nil, err
		}
		if !bytes.Contains(src, []byte("worker_processes 1;")) {
			return nil, fmt.Errorf("%s: no \"worker_processes 1;\" to raise", im.nginxConf)
		}
		if err := os.WriteFile(conf, bytes.Replace(src, []byte("worker_processes 1;"), []byte("worker_processes auto;"), 1), 0o644); err != nil {
			return nil, err
		}
	}
	file := filepath.Join(dir, "proxy.yaml")
	if err := os.WriteFile(file, []byte(throughputYAML(image, berthPort, berthTLSPort, cert, key, conf)), 0o644); err != nil {
		return nil, err
	}
	progress("proxy: berth up of the %s backend on 127.0.0.1:%d (http) and :%d (https)", o.backend, berthPort, berthTLSPort)
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
	ips := map[string]string{}
	for _, c := range cs {
		ips[c.Service] = c.IP
	}
	if len(cs) != 2 || ips["app"] == "" || ips["tls"] == "" {
		return nil, fmt.Errorf("berth ps -p %s: want services app and tls with an address each, got %+v", proxyStack, cs)
	}
	backend, tlsBackend := ips["app"]+":8080", ips["tls"]+":8080"
	nginxAddr := fmt.Sprintf("127.0.0.1:%d", nginxPort)
	nginxTLSAddr := fmt.Sprintf("127.0.0.1:%d", nginxTLSPort)
	ng, err := startHostNginx(ctx, o.nginxBin, filepath.Join(dir, "nginx"), nginxSite{nginxAddr, backend, "", ""}, nginxSite{nginxTLSAddr, tlsBackend, cert, key}, path)
	if err != nil {
		return nil, err
	}
	defer ng.Stop(10 * time.Second)

	berthTitle := "berth proxy (published port)"
	if !bd.hasProxy {
		berthTitle = "berth published port (CNI portmap: this berth has no proxy)"
	}
	berthPids := func() []int { return berthProxyPids(bd.dir) }
	nginxPids := func() []int { return processTree(ng.Pid()) }
	res.Paths = []pathResult{
		{Name: "direct", Title: "straight to the container (" + backend + ")", URL: "http://" + backend + path},
		{Name: "berth", Title: berthTitle, URL: fmt.Sprintf("http://127.0.0.1:%d%s", berthPort, path), proxyPids: berthPids},
		{Name: "nginx", Title: "nginx reverse proxy (Debian, keepalive upstream)", URL: "http://" + nginxAddr + path, proxyPids: nginxPids},
		{Name: "berth-tls", Title: "berth proxy, TLS (HTTP/1.1, ECDSA P-256)", URL: fmt.Sprintf("https://127.0.0.1:%d%s", berthTLSPort, path), proxyPids: berthPids},
		{Name: "nginx-tls", Title: "nginx reverse proxy, TLS (same certificate)", URL: "https://" + nginxTLSAddr + path, proxyPids: nginxPids},
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

// freePorts returns n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ports []int
	for len(ports) < n {
		p, err := benchkit.FreePort()
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	return ports, nil
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
