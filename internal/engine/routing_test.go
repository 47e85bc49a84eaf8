package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/proxy"
)

// fakeRouter records what the engine pushes and the order of drains.
type fakeRouter struct {
	mu      sync.Mutex
	cfg     proxy.Config
	applies int
	drained []string
	failOn  string // Apply fails when a listener has this address
	events  *[]string
	// holdNames, when set, blocks a push that changes DNS names only until
	// it is closed.
	holdNames chan struct{}
}

func (r *fakeRouter) Apply(_ context.Context, cfg proxy.Config) error {
	r.mu.Lock()
	if hold := r.holdNames; hold != nil && r.applies > 0 && bytes.Equal(routingShape(cfg), routingShape(r.cfg)) {
		r.mu.Unlock()
		<-hold
		r.mu.Lock()
	}
	defer r.mu.Unlock()
	for _, l := range cfg.Listeners {
		if l.Addr == r.failOn {
			return errors.New("listen tcp " + l.Addr + ": bind: address already in use")
		}
	}
	r.cfg = cfg
	r.applies++
	return nil
}

func (r *fakeRouter) Drain(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drained = append(r.drained, id)
	if r.events != nil {
		*r.events = append(*r.events, "drain "+id)
	}
	return nil
}

func (r *fakeRouter) backends(addr string) []proxy.Backend {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.cfg.Listeners {
		if l.Addr == addr {
			var out []proxy.Backend
			for _, rt := range l.Routes {
				out = append(out, rt.Backends...)
			}
			return out
		}
	}
	return nil
}

func (r *fakeRouter) listener(addr string) (proxy.Listener, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.cfg.Listeners {
		if l.Addr == addr {
			return l, true
		}
	}
	return proxy.Listener{}, false
}

func TestRoutingFollowsHealthAndDrainsBeforeStop(t *testing.T) {
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	router := &fakeRouter{}
	if err := e.SetRouter(context.Background(), router); err != nil {
		t.Fatal(err)
	}
	rt.setExec(1) // health checks fail until told otherwise
	spec := model.StackSpec{Name: "shop", Services: []model.ServiceSpec{
		{Name: "web", Image: "web", Replicas: 2, Health: &model.HealthCheck{Test: []string{"CMD", "ok"}, Interval: 10 * time.Millisecond, Retries: 1000},
			Ports: []model.PortMapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 5353, ContainerPort: 53, Protocol: "udp"}},
			Proxy: &model.ProxyOptions{Protocol: "http", Hosts: []string{"shop.example"}}},
	}}
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	l, ok := router.listener("127.0.0.1:8080")
	if !ok || l.Mode != proxy.ModeHTTP || len(l.Routes) != 1 || l.Routes[0].Service != "shop/web" || l.Routes[0].Hosts[0] != "shop.example" {
		t.Fatalf("listener %+v (found %v)", l, ok)
	}
	if _, ok := router.listener("0.0.0.0:5353"); ok {
		t.Fatal("a UDP port went to the proxy")
	}
	bs := router.backends("127.0.0.1:8080")
	if len(bs) != 2 || bs[0].Ready || bs[1].Ready || !strings.HasSuffix(bs[0].Addr, ":80") {
		t.Fatalf("starting replicas must be out of rotation: %+v", bs)
	}
	rt.setExec(0)
	eventually(t, "both replicas in rotation once healthy", func() bool {
		bs := router.backends("127.0.0.1:8080")
		return len(bs) == 2 && bs[0].Ready && bs[1].Ready
	})
	// Scaling down drains the surplus replica before stopping it.
	spec.Services[0].Replicas = 1
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	router.mu.Lock()
	drained := append([]string(nil), router.drained...)
	router.mu.Unlock()
	if len(drained) != 1 {
		t.Fatalf("drained %v, want the one surplus replica", drained)
	}
	if bs := router.backends("127.0.0.1:8080"); len(bs) != 1 || bs[0].ID == drained[0] {
		t.Fatalf("after scale down: %+v", bs)
	}
	if err := e.Down(context.Background(), "shop", false); err != nil {
		t.Fatal(err)
	}
	if _, ok := router.listener("127.0.0.1:8080"); ok {
		t.Fatal("the listener outlived the stack")
	}
}

func TestRoutingPortTakenFailsUpBeforeAnyContainer(t *testing.T) {
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	router := &fakeRouter{failOn: "0.0.0.0:9090"}
	if err := e.SetRouter(context.Background(), router); err != nil {
		t.Fatal(err)
	}
	spec := model.StackSpec{Name: "shop", Services: []model.ServiceSpec{{Name: "web", Image: "web", Ports: []model.PortMapping{{HostIP: "0.0.0.0", HostPort: 9090, ContainerPort: 80}}}}}
	err := e.Up(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), "0.0.0.0:9090") {
		t.Fatalf("Up: %v, want the taken address named", err)
	}
	if n := len(e.Containers("shop")); n != 0 || len(rt.starts) != 0 {
		t.Fatalf("%d containers, %d starts after a refused up", n, len(rt.starts))
	}
	nets.mu.Lock()
	defer nets.mu.Unlock()
	if nets.nets["shop"] {
		t.Fatal("network left behind")
	}
}

func TestRoutingSharedPortNeedsHTTPHosts(t *testing.T) {
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	router := &fakeRouter{}
	if err := e.SetRouter(context.Background(), router); err != nil {
		t.Fatal(err)
	}
	port := []model.PortMapping{{HostIP: "127.0.0.1", HostPort: 80, ContainerPort: 8080}}
	spec := model.StackSpec{Name: "shop", Services: []model.ServiceSpec{
		{Name: "api", Image: "api", Ports: port},
		{Name: "web", Image: "web", Ports: port},
	}}
	if err := e.Up(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "published by both") {
		t.Fatalf("two TCP services on one port: %v", err)
	}
	spec.Services[0].Proxy = &model.ProxyOptions{Protocol: "http", Hosts: []string{"api.example"}, BackendProtocol: "h2c"}
	to := proxy.Timeouts{ReadBody: proxy.Duration(time.Second), ResponseHeader: proxy.Duration(2 * time.Second), Write: proxy.Duration(3 * time.Second)}
	spec.Services[1].Proxy = &model.ProxyOptions{Protocol: "http", Timeouts: model.ProxyTimeouts{ReadBody: time.Second, ResponseHeader: 2 * time.Second, Write: 3 * time.Second}}
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	l, _ := router.listener("127.0.0.1:80")
	if len(l.Routes) != 2 || l.Routes[0].Service != "shop/api" || l.Routes[1].Service != "shop/web" {
		t.Fatalf("routes %+v", l.Routes)
	}
	// Each route carries its service's timeouts (zero: the proxy's defaults).
	if l.Routes[0].Timeouts != (proxy.Timeouts{}) || l.Routes[1].Timeouts != to {
		t.Fatalf("timeouts %+v, %+v", l.Routes[0].Timeouts, l.Routes[1].Timeouts)
	}
	// Each route speaks its own protocol to its replicas (backend_protocol).
	if l.Routes[0].BackendProtocol != proxy.BackendH2C || l.Routes[1].BackendProtocol != "" {
		t.Fatalf("backend protocols %q, %q", l.Routes[0].BackendProtocol, l.Routes[1].BackendProtocol)
	}
}

// Containers of a stack that publishes nothing cost no push their start
// waits for: the new network's DNS zone is pushed before its containers
// start, their names follow in the background. A change is pushed, and
// after a failed push the next change pushes everything again.
func TestRoutingPushesOnlyChanges(t *testing.T) {
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	router := &fakeRouter{holdNames: make(chan struct{})}
	if err := e.SetRouter(context.Background(), router); err != nil {
		t.Fatal(err)
	}
	applies := func() int {
		router.mu.Lock()
		defer router.mu.Unlock()
		return router.applies
	}
	if n := applies(); n != 1 {
		t.Fatalf("SetRouter pushed %d times, want 1", n)
	}
	// Up returns although every names-only push is held.
	upped := make(chan error, 1)
	go func() {
		upped <- e.Up(context.Background(), model.StackSpec{Name: "quiet", Services: []model.ServiceSpec{{Name: "worker", Image: "w", Replicas: 3}}})
	}()
	select {
	case err := <-upped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("up waited for the DNS names to be pushed")
	}
	zone := func(stack string) (proxy.DNSZone, bool) {
		router.mu.Lock()
		defer router.mu.Unlock()
		for _, z := range router.cfg.DNS {
			if z.Domain == stack {
				return z, true
			}
		}
		return proxy.DNSZone{}, false
	}
	if z, ok := zone("quiet"); !ok || z.Addr == "" {
		t.Fatalf("the network's DNS zone was not pushed before its containers started: %+v", router.cfg.DNS)
	}
	close(router.holdNames)
	eventually(t, "the workers' names pushed", func() bool {
		z, _ := zone("quiet")
		return len(z.Names["worker"]) == 3
	})
	web := model.StackSpec{Name: "shop", Services: []model.ServiceSpec{{Name: "web", Image: "web", Ports: []model.PortMapping{{HostPort: 8081, ContainerPort: 80, Protocol: "tcp"}}}}}
	if err := e.Up(context.Background(), web); err != nil {
		t.Fatal(err)
	}
	if bs := router.backends("0.0.0.0:8081"); len(bs) != 1 || !bs[0].Ready {
		t.Fatalf("published service's backends: %+v", bs)
	}
	eventually(t, "web's name pushed", func() bool {
		z, _ := zone("shop")
		return len(z.Names["web"]) == 1
	})
	pushed := applies()
	router.mu.Lock()
	router.failOn = "0.0.0.0:8082"
	router.mu.Unlock()
	web.Services[0].Ports = append(web.Services[0].Ports, model.PortMapping{HostPort: 8082, ContainerPort: 80, Protocol: "tcp"})
	if err := e.Up(context.Background(), web); err == nil {
		t.Fatal("up with a taken port succeeded")
	}
	// The rolled-back routing equals what the proxy had, but after a
	// failed push the engine cannot know what the proxy holds: it pushes.
	if n := applies(); n != pushed+1 {
		t.Fatalf("%d pushes after the failed one, want 1 (the rollback)", n-pushed)
	}
}

// A stack's DNS zone (its network's gateway) is pushed with the routing
// while the stack exists, with the names of its routable containers, and
// goes when the stack is taken down.
func TestRoutingDNSZoneFollowsTheStack(t *testing.T) {
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	router := &fakeRouter{}
	if err := e.SetRouter(context.Background(), router); err != nil {
		t.Fatal(err)
	}
	zones := func() []proxy.DNSZone {
		router.mu.Lock()
		defer router.mu.Unlock()
		return router.cfg.DNS
	}
	if err := e.Up(context.Background(), model.StackSpec{Name: "quiet", Services: []model.ServiceSpec{{Name: "worker", Image: "w", Replicas: 2}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the zone with both workers", func() bool {
		z := zones()
		return len(z) == 1 && z[0].Domain == "quiet" && len(z[0].Names["worker"]) == 2 && len(z[0].Names["quiet-worker-1"]) == 1
	})
	if err := e.Down(context.Background(), "quiet", false); err != nil {
		t.Fatal(err)
	}
	if z := zones(); len(z) != 0 {
		t.Fatalf("zones after down: %+v", z)
	}
}

// tls: auto: the service's HTTPS port is a TLS-auto listener, the CA's
// HTTP-01 port a plain one that redirects to it (added when the service
// does not publish it), the config carries the daemon's ACME settings;
// without them, or with the HTTP-01 port taken by a TCP service, Up fails
// before anything starts.
func TestRoutingTLSAuto(t *testing.T) {
	rt, nets := newFakeRuntime(), newFakeNets()
	e := newTestEngine(t, t.TempDir(), rt, nets)
	defer e.Close()
	router := &fakeRouter{}
	if err := e.SetRouter(context.Background(), router); err != nil {
		t.Fatal(err)
	}
	web := model.ServiceSpec{Name: "web", Image: "web", Ports: []model.PortMapping{{HostIP: "127.0.0.1", HostPort: 8443, ContainerPort: 8080}},
		Proxy: &model.ProxyOptions{Protocol: "http", Hosts: []string{"shop.example.com"}, TLSAuto: true, HSTS: time.Hour}}
	spec := model.StackSpec{Name: "shop", Services: []model.ServiceSpec{web}}
	if err := e.Up(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "--acme-directory") {
		t.Fatalf("tls: auto without ACME settings: %v", err)
	}
	rt.mu.Lock()
	started := len(rt.starts)
	rt.mu.Unlock()
	if started != 0 {
		t.Fatalf("a refused deploy started %d containers", started)
	}

	e.SetACME(&proxy.ACME{Directory: "https://acme.example/dir", HTTPPort: 8080})
	if err := e.Up(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	l, ok := router.listener("127.0.0.1:8443")
	if !ok || l.TLS == nil || !l.TLS.Auto || l.TLS.HSTS != proxy.Duration(time.Hour) {
		t.Fatalf("https listener %+v", l)
	}
	plain, ok := router.listener("127.0.0.1:8080")
	if !ok || plain.TLS != nil || len(plain.Routes) != 1 || plain.Routes[0].RedirectHTTPS != 8443 || len(plain.Routes[0].Backends) != 0 {
		t.Fatalf("challenge/redirect listener %+v", plain)
	}
	router.mu.Lock()
	acme := router.cfg.ACME
	router.mu.Unlock()
	if acme == nil || acme.Directory != "https://acme.example/dir" {
		t.Fatalf("config ACME %+v", acme)
	}
	router.mu.Lock()
	cfg := router.cfg
	router.mu.Unlock()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the engine's config does not validate: %v", err)
	}

	// TLS-ALPN-01: no HTTP-01 listener is added.
	e.SetACME(&proxy.ACME{Directory: "https://acme.example/dir", HTTPPort: 8080, Challenge: proxy.ChallengeTLSALPN01})
	alpn := web
	alpn.Name, alpn.Ports = "alpn", []model.PortMapping{{HostIP: "127.0.0.1", HostPort: 9443, ContainerPort: 8080}}
	alpn.Proxy = &model.ProxyOptions{Protocol: "http", Hosts: []string{"alpn.example.com"}, TLSAuto: true}
	if err := e.Up(context.Background(), model.StackSpec{Name: "alpn", Services: []model.ServiceSpec{alpn}}); err != nil {
		t.Fatal(err)
	}
	router.mu.Lock()
	for _, l := range router.cfg.Listeners {
		for _, r := range l.Routes {
			if r.Service == "alpn/alpn" && l.Addr != "127.0.0.1:9443" {
				t.Errorf("tls-alpn-01: alpn/alpn routed on %s too", l.Addr)
			}
		}
	}
	router.mu.Unlock()
	if err := e.Down(context.Background(), "alpn", false); err != nil {
		t.Fatal(err)
	}
	e.SetACME(&proxy.ACME{Directory: "https://acme.example/dir", HTTPPort: 8080})

	// Only the HTTP-01 port published: nowhere to serve HTTPS.
	only80 := web
	only80.Ports = []model.PortMapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 8080}}
	if err := e.Up(context.Background(), model.StackSpec{Name: "only80", Services: []model.ServiceSpec{only80}}); err == nil || !strings.Contains(err.Error(), "publish the HTTPS port") {
		t.Fatalf("tls: auto on the HTTP-01 port only: %v", err)
	}

	// The HTTP-01 port held by a TCP service: refused, naming both.
	tcp := model.ServiceSpec{Name: "raw", Image: "raw", Ports: []model.PortMapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 9}}}
	other := model.StackSpec{Name: "other", Services: []model.ServiceSpec{tcp}}
	if err := e.Up(context.Background(), other); err == nil || !strings.Contains(err.Error(), "HTTP-01") {
		t.Fatalf("HTTP-01 port taken by a TCP service: %v", err)
	}
}

// certRouter is a fakeRouter that reports certificates, as the proxy
// process's client does.
type certRouter struct {
	fakeRouter
	certs []proxy.CertStatus
}

func (r *certRouter) Certificates(context.Context) ([]proxy.CertStatus, error) { return r.certs, nil }

// The API lists the proxy's tls: auto certificates (berth ps shows them).
func TestServeCertificatesAsksTheProxy(t *testing.T) {
	e := newTestEngine(t, t.TempDir(), newFakeRuntime(), newFakeNets())
	defer e.Close()
	router := &certRouter{certs: []proxy.CertStatus{{Host: "shop.example.com", Serial: "ab"}}}
	if err := e.SetRouter(context.Background(), router); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	e.ServeCertificates(w, httptest.NewRequest("GET", "/v1/certificates", nil))
	var got []proxy.CertStatus
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 || len(got) != 1 || got[0].Host != "shop.example.com" {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
}
