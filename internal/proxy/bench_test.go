package proxy

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkHTTPProxy measures one small GET through the proxy over
// keep-alive connections, with allocations (the proxy's and the test
// client's and backend's together; compare with BenchmarkHTTPDirect).
func BenchmarkHTTPProxy(b *testing.B) {
	back := startBackend(b, "a")
	p := newTestProxy(b, Options{})
	addr := freeAddr(b)
	mustApply(b, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", back.addr(), true)}}))
	benchGet(b, "http://"+addr+"/")
}

// BenchmarkHTTPDirect is the same load straight at the backend: the
// difference to BenchmarkHTTPProxy is the proxy's cost.
func BenchmarkHTTPDirect(b *testing.B) {
	back := startBackend(b, "a")
	benchGet(b, "http://"+back.addr()+"/")
}

// BenchmarkHTTPSProxy is BenchmarkHTTPProxy over TLS, which the
// net/http path (http.go) serves: the TLS and net/http costs included.
func BenchmarkHTTPSProxy(b *testing.B) {
	back := startBackend(b, "a")
	certFile, keyFile, pool := selfSigned(b)
	p := newTestProxy(b, Options{})
	addr := freeAddr(b)
	cfg := httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", back.addr(), true)}})
	cfg.Listeners[0].TLS = &TLS{CertFile: certFile, KeyFile: keyFile}
	mustApply(b, p, cfg)
	benchGetWith(b, &http.Transport{MaxIdleConnsPerHost: 64, TLSClientConfig: &tls.Config{RootCAs: pool}}, "https://"+addr+"/")
}

// BenchmarkHTTPProxyHandler is the net/http path's handler alone
// (listener.ServeHTTP), without the client's, TLS's and net/http's
// server costs: the proxy's own share of the net/http path.
func BenchmarkHTTPProxyHandler(b *testing.B) {
	back := startBackend(b, "a")
	p := newTestProxy(b, Options{})
	addr := freeAddr(b)
	mustApply(b, p, httpConfig(addr, Route{Service: "s/web", Backends: []Backend{be("a", back.addr(), true)}}))
	l := p.listeners[addr]
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		w := httptest.NewRecorder()
		l.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

func benchGet(b *testing.B, url string) {
	benchGetWith(b, &http.Transport{MaxIdleConnsPerHost: 64}, url)
}

func benchGetWith(b *testing.B, tr *http.Transport, url string) {
	c := &http.Client{Transport: tr}
	mustGet(b, c, url)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
