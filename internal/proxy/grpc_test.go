package proxy

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

// grpcBackend is a real gRPC server (the standard health service) that
// counts its calls and reports when a Watch stream ends.
type grpcBackend struct {
	*health.Server
	addr    string
	calls   atomic.Int64
	watches atomic.Int64 // Watch streams open
	ended   chan error   // a Watch stream's context error as it ends
	srv     *grpc.Server
	lis     net.Listener
	stopped sync.Once
}

func startGRPCBackend(t testing.TB) *grpcBackend {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &grpcBackend{Server: health.NewServer(), addr: lis.Addr().String(), ended: make(chan error, 16), lis: lis}
	g.srv = grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		g.calls.Add(1)
		return h(ctx, req)
	}))
	healthpb.RegisterHealthServer(g.srv, g)
	reflection.RegisterV1(g.srv) // a bidirectional stream
	go g.srv.Serve(lis)
	t.Cleanup(func() { g.srv.Stop() })
	return g
}

// Watch is the health service's (it streams every status change) with
// the end of the stream reported.
func (g *grpcBackend) Watch(req *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	g.watches.Add(1)
	defer g.watches.Add(-1)
	err := g.Server.Watch(req, stream)
	g.ended <- stream.Context().Err()
	return err
}

// grpcClient dials the proxy's TLS listener at addr, trusting pool.
func grpcClient(t testing.TB, addr string, pool *x509.CertPool) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, "")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func h2cRoute(backends ...Backend) Route {
	return Route{Service: "s/grpc", BackendProtocol: BackendH2C, Backends: backends}
}

// A gRPC client reaches a gRPC server through the proxy's TLS listener:
// unary calls, a server stream whose messages arrive as the server sends
// them, error statuses (carried in trailers) with code and message, and
// a client's cancel or deadline ending the server's stream.
func TestGRPCThroughProxy(t *testing.T) {
	g := startGRPCBackend(t)
	g.SetServingStatus("svc", healthpb.HealthCheckResponse_NOT_SERVING)
	_, addr, _, pool := tlsProxy(t, h2cRoute(be("a", g.addr, true)))
	cc := grpcClient(t, addr, pool)
	hc := healthpb.NewHealthClient(cc)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check: %v, want SERVING", resp.Status)
	}
	if g.calls.Load() != 1 {
		t.Fatalf("the backend saw %d calls, want 1", g.calls.Load())
	}

	// An error status: the code and message reach the client.
	_, err = hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"})
	if st, _ := status.FromError(err); st.Code() != codes.NotFound || st.Message() != "unknown service" {
		t.Fatalf("Check of an unknown service: %v, want NotFound: unknown service", err)
	}

	// A bidirectional stream: each answer comes back while the client's
	// side of the stream is still open.
	bidi, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := bidi.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		m, err := bidi.Recv()
		if err != nil {
			t.Fatalf("bidirectional stream, answer %d: %v", i, err)
		}
		if l := m.GetListServicesResponse(); l == nil || len(l.Service) != 2 {
			t.Fatalf("bidirectional stream, answer %d: %v", i, m)
		}
	}
	bidi.CloseSend()
	if _, err := bidi.Recv(); err != io.EOF {
		t.Fatalf("bidirectional stream end: %v, want EOF", err)
	}

	// A server stream delivers each update as it happens: the stream is
	// still open when the second one arrives.
	wctx, wcancel := context.WithCancel(ctx)
	stream, err := hc.Watch(wctx, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := stream.Recv(); err != nil || m.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("first Watch update: %v %v, want NOT_SERVING", m, err)
	}
	for _, want := range []healthpb.HealthCheckResponse_ServingStatus{healthpb.HealthCheckResponse_SERVING, healthpb.HealthCheckResponse_NOT_SERVING} {
		g.SetServingStatus("svc", want)
		if m, err := stream.Recv(); err != nil || m.Status != want {
			t.Fatalf("Watch update: %v %v, want %v", m, err, want)
		}
	}
	// The client cancels: the backend's stream ends.
	wcancel()
	select {
	case err := <-g.ended:
		if err != context.Canceled {
			t.Fatalf("backend stream ended with %v, want canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the backend's Watch stream did not end after the client cancelled")
	}
	if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("Recv after cancel: %v", err)
	}

	// A deadline: the client gets DeadlineExceeded and the backend's
	// stream ends.
	dctx, dcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer dcancel()
	stream, err = hc.Watch(dctx, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("Recv past the deadline: %v, want DeadlineExceeded", err)
	}
	select {
	case err := <-g.ended:
		if err == nil {
			t.Fatal("backend stream ended without a context error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the backend's Watch stream did not end at the client's deadline")
	}
	waitFor(t, "no Watch open on the backend", 5*time.Second, func() bool { return g.watches.Load() == 0 })
}

// A deploy under gRPC load — the old backend out of rotation and
// drained, a new one in — fails no call.
func TestGRPCDeployUnderLoad(t *testing.T) {
	a, b := startGRPCBackend(t), startGRPCBackend(t)
	route := func(aReady, bReady bool) Route {
		return h2cRoute(be("a", a.addr, aReady), be("b", b.addr, bReady))
	}
	p, addr, _, pool := tlsProxy(t, route(true, false))
	conns := []healthpb.HealthClient{
		healthpb.NewHealthClient(grpcClient(t, addr, pool)),
		healthpb.NewHealthClient(grpcClient(t, addr, pool)),
	}
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := conns[i%len(conns)]
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
				cancel()
				if err == nil && resp.Status != healthpb.HealthCheckResponse_SERVING {
					err = fmt.Errorf("status %v", resp.Status)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		}()
	}
	waitFor(t, "gRPC load", 10*time.Second, func() bool { return ok.Load() > 200 })
	mustApply(t, p, httpConfigTLS(p, route(true, true)))
	mustApply(t, p, httpConfigTLS(p, route(false, true)))
	if err := p.Drain(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	aDone := a.calls.Load()
	mark := b.calls.Load()
	waitFor(t, "gRPC load on the new backend", 10*time.Second, func() bool { return b.calls.Load() > mark+200 })
	close(stop)
	wg.Wait()
	t.Logf("%d gRPC calls, %d failed; backend a %d, b %d", ok.Load(), failed.Load(), a.calls.Load(), b.calls.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d calls failed during the deploy; first: %v", failed.Load(), firstErr.Load())
	}
	if a.calls.Load() != aDone {
		t.Fatalf("backend a got %d calls after it was drained", a.calls.Load()-aDone)
	}
	// The drained replica keeps no connection from the proxy open.
	p.mu.Lock()
	ba := p.backends["a"]
	p.mu.Unlock()
	waitFor(t, "the connections to the drained backend closed", 5*time.Second, func() bool {
		ba.mu.Lock()
		defer ba.mu.Unlock()
		return len(ba.conns) == 0
	})
}

// startH2CBackend is an HTTP server that speaks HTTP/1.1 and h2c (prior
// knowledge); it answers with the protocol it was asked in, echoes the
// body and sends a trailer. /slow waits for its request to be cancelled.
func startH2CBackend(t testing.TB) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-r.Context().Done()
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Trailer", "X-Status")
		fmt.Fprintf(w, "%s te=%s %s", r.Proto, r.Header.Get("Te"), body)
		w.Header().Set("X-Status", "done")
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// On a plain listener an h2c route leaves the fast path: an HTTP/1.1
// client's request goes to the backend over HTTP/2 and its trailers come
// back in the chunked answer. A backend that refuses connections is
// skipped; one that sends no head within the response header timeout
// gets 504.
func TestH2CRouteFromHTTP1Client(t *testing.T) {
	addr := startH2CBackend(t)
	p := newTestProxy(t, Options{})
	listen := freeAddr(t)
	route := h2cRoute(be("dead", freeAddr(t), true), be("a", addr, true))
	route.Timeouts.ResponseHeader = Duration(200 * time.Millisecond)
	mustApply(t, p, httpConfig(listen, route))
	c := newClient()
	for i := 0; i < 4; i++ { // both backends get picked
		req, _ := http.NewRequest("POST", "http://"+listen+"/", strings.NewReader("hello"))
		req.Header.Set("Te", "trailers")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "HTTP/2.0 te=trailers hello" || resp.Trailer.Get("X-Status") != "done" {
			t.Fatalf("POST through an h2c route: %d %q trailer %v", resp.StatusCode, body, resp.Trailer)
		}
	}
	if code, body, err := get(c, "http://"+listen+"/slow"); err != nil || code != http.StatusGatewayTimeout {
		t.Fatalf("GET /slow: %d %q %v, want 504", code, body, err)
	}
}

// A route without a backend protocol keeps speaking HTTP/1.1 to its
// backends, also to HTTP/2 clients.
func TestHTTP1RouteStaysHTTP1(t *testing.T) {
	addr := startH2CBackend(t)
	_, listen, _, pool := tlsProxy(t, Route{Service: "s/web", Backends: []Backend{be("a", addr, true)}})
	resp, err := h2Client(pool).Get("https://" + listen + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || !strings.HasPrefix(string(body), "HTTP/1.1 ") {
		t.Fatalf("client %s, backend saw %q; want HTTP/2 to the client and HTTP/1.1 to the backend", resp.Proto, body)
	}
}

// A backend that goes away in the middle of a gRPC stream: the client
// gets UNAVAILABLE in the trailers, as from a gRPC server it lost itself,
// not a reset stream (INTERNAL).
func TestGRPCBackendGoneMidStream(t *testing.T) {
	g := startGRPCBackend(t)
	g.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
	_, addr, _, pool := tlsProxy(t, h2cRoute(be("a", g.addr, true)))
	hc := healthpb.NewHealthClient(grpcClient(t, addr, pool))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	stream, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	g.srv.Stop() // closes its connections
	if _, err := stream.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("Recv after the backend went away: %v, want Unavailable", err)
	}
}
