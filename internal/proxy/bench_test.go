package proxy

import (
	"io"
	"net/http"
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

func benchGet(b *testing.B, url string) {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
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
