package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// keepAliveThenDrop is a raw HTTP/1.1 server that answers the first request
// on every connection with a keep-alive 200 and drops the connection
// without an answer when the second one comes: what a backend killed
// mid-request looks like to a client. It counts the requests it read.
func keepAliveThenDrop(t *testing.T) (addr string, requests *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	requests = new(atomic.Int64)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 1; ; n++ {
					if _, err := http.ReadRequest(br); err != nil {
						return
					}
					requests.Add(1)
					if n == 2 {
						return
					}
					fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n{\"version\":\"1.0.0\"}")
				}
			}()
		}
	}()
	return l.Addr().String(), requests
}

// countingServer is an httptest server (with TLS if tls) that counts the
// connections clients open to it.
func countingServer(t *testing.T, tls bool, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	conns := new(atomic.Int64)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused TLS handshakes are expected
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, conns
}

// TestNoTransparentRetry: a request whose reused connection breaks counts
// as a connection error and is not sent again (net/http's Transport would
// re-send it on a new connection and report success).
func TestNoTransparentRetry(t *testing.T) {
	addr, served := keepAliveThenDrop(t)
	g, err := Start(context.Background(), Options{URL: "http://" + addr + "/version", Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "10 dropped requests", func() bool { return g.Stats.ConnErrors.Load() >= 10 })
	s := g.Stop()
	if got := served.Load(); got != s.Requests {
		t.Fatalf("the server read %d requests, the generator counted %d: some were re-sent (%s)", got, s.Requests, s)
	}
	// Every connection carries one answered and one dropped request.
	if d := s.OK - s.ConnErrors; d < 0 || d > 2 || s.Versions["1.0.0"] != s.OK {
		t.Fatalf("want as many ok as dropped: %s", s)
	}
	if !strings.Contains(s.Failures(), "read response: ") {
		t.Fatalf("failures %q, want the dropped responses", s.Failures())
	}
}

// TestConnectionCloseRedials: a server that closes after every answer (as
// it announces) costs a dial per request, never a failure.
func TestConnectionCloseRedials(t *testing.T) {
	srv, conns := countingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		w.Write([]byte(`{"version":"1.0.0"}`))
	})
	g, err := Start(context.Background(), Options{URL: srv.URL, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "50 requests", func() bool { return g.Stats.Requests.Load() >= 50 })
	s := g.Stop()
	if s.OK != s.Requests || conns.Load() != s.Requests {
		t.Fatalf("%d connections for %s: want one per request, all ok", conns.Load(), s)
	}
}

func TestHTTPS(t *testing.T) {
	srv, conns := countingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"version":"2.0.0","host":%q}`, r.Host)
	})
	tlsConfig := srv.Client().Transport.(*http.Transport).TLSClientConfig
	g, err := Start(context.Background(), Options{URL: srv.URL + "/version", Concurrency: 2, tlsConfig: tlsConfig})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "100 requests", func() bool { return g.Stats.Requests.Load() >= 100 })
	s := g.Stop()
	host := strings.TrimPrefix(srv.URL, "https://")
	if s.OK != s.Requests || s.Versions["2.0.0"] != s.OK || s.Hosts[host] != s.OK || conns.Load() != 2 {
		t.Fatalf("%d connections, %s: want all ok over 2 connections with Host %s", conns.Load(), s, host)
	}
	// Without the test's roots the server's certificate is not trusted.
	bad, err := Start(context.Background(), Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a refused certificate", func() bool { return bad.Stats.ConnErrors.Load() >= 1 })
	if s := bad.Stop(); s.OK != 0 || !strings.Contains(s.Failures(), "certificate") {
		t.Fatalf("untrusted server: %s", s)
	}
}

func TestVersionOf(t *testing.T) {
	for body, want := range map[string][2]string{
		`{"version":"1.2.3","host":"h"}` + "\n": {"1.2.3", "h"},
		`  {"version":"x"}`:                     {"x", ""},
		`{"version":1}`:                         {"", ""},
		`["version"]`:                           {"", ""},
		`{"version":`:                           {"", ""},
		`ok`:                                    {"", ""},
		``:                                      {"", ""},
	} {
		v, h := versionOf([]byte(body))
		if v != want[0] || h != want[1] {
			t.Errorf("versionOf(%q) = %q, %q; want %q, %q", body, v, h, want[0], want[1])
		}
	}
}
