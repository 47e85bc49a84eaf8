package proxyd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/berth-dev/berth/internal/dns"
	"github.com/berth-dev/berth/internal/proxy"
)

// RunOptions configures the proxy process (Run).
type RunOptions struct {
	Socket  string // the API's unix socket
	State   string // file holding the last applied Config
	Metrics string // optional TCP address also serving /metrics
	// Takeover: another proxy (being upgraded) still serves Socket; take
	// its name over instead of refusing to start (see Upgrade).
	Takeover bool
	Log      *slog.Logger
}

// apiShutdownTimeout bounds how long the API server waits for its own
// requests (a drain, say) once the proxy itself has closed.
const apiShutdownTimeout = 2 * time.Second

// Run is the `berth proxy` process: it applies the saved config, serves
// the API until ctx ends or POST /shutdown, then closes the proxy (its
// in-flight requests get up to 5 s) and removes the socket.
func Run(ctx context.Context, o RunOptions) error {
	if o.Socket == "" {
		return errors.New("berth proxy: --socket is required")
	}
	if o.State == "" {
		return errors.New("berth proxy: --state is required")
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(filepath.Dir(o.State), 0o700); err != nil {
		return fmt.Errorf("berth proxy: state directory: %w", err)
	}

	// Claim the socket before opening any port: a second proxy must fail
	// here, not after stealing nothing but logging bind errors.
	listen := Listen
	if o.Takeover {
		listen = takeOver
	}
	apiLn, err := listen(o.Socket)
	if err != nil {
		return err
	}
	defer apiLn.Close() // for early returns; closing twice is harmless
	sockInfo, _ := os.Stat(o.Socket)
	defer func() {
		// Remove the socket only if it is still ours.
		if fi, err := os.Stat(o.Socket); err == nil && sockInfo != nil && os.SameFile(fi, sockInfo) {
			os.Remove(o.Socket)
		}
	}()

	var metricsLn net.Listener
	if o.Metrics != "" {
		if metricsLn, err = net.Listen("tcp", o.Metrics); err != nil {
			return fmt.Errorf("berth proxy: --metrics: %w", err)
		}
	}

	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		// The proxy's live heap is small (pools and buffers) and the fast
		// path hardly allocates; collecting less often leaves the CPU to
		// the traffic. GOGC in the environment still wins.
		debug.SetGCPercent(400)
	}
	// The sockets the daemon handed down (see Holder) are served as they
	// are: connections and DNS queries queued on them while no proxy ran
	// are answered now.
	inh := inheritListeners(log)
	if n := inh.count(); n > 0 {
		log.Info("inherited listening sockets", "count", n)
	}
	checkBacklog(log)
	// Automatic certificates (tls auto) live beside the state file, under
	// the daemon's root: <root>/proxy/acme.
	certDir := filepath.Join(filepath.Dir(o.State), "acme")
	// BERTH_PROXY_GOROUTINE_PER_CONN=1 turns the event loops off: a
	// switch for operators should they suspect them.
	loops := os.Getenv("BERTH_PROXY_GOROUTINE_PER_CONN") != "1"
	if loops && os.Getenv("GOMAXPROCS") == "" {
		// One event loop per CPU, each on its own thread, and as many Ps
		// again: a loop waking from epoll_wait then finds a free P at once
		// instead of waiting for one (measured behind wrk: 2 Ps for 2
		// loops served 0.8x nginx's req/s, 4 Ps 1.0-1.3x at less CPU per
		// request).
		runtime.GOMAXPROCS(2 * runtime.NumCPU())
	}
	p := proxy.New(proxy.Options{Log: log, Registerer: reg, Listen: inh.listen, CertDir: certDir,
		GoroutinePerConn: !loops})
	upstream, err := dns.HostUpstreams("/etc/resolv.conf")
	if err != nil {
		log.Warn("reading the host's resolvers; containers resolve only service names", "err", err)
	}
	dnsZones := newDNSHost(upstream, log, inh.listenDNS)
	defer dnsZones.close()

	// Serve what the last run served before anything else, so a restarted
	// proxy process answers on its ports without waiting for the daemon.
	// A saved config that no longer applies (its port taken meanwhile) is
	// logged and skipped: the daemon pushes its config and sees the error.
	switch cfg, found, err := LoadState(o.State); {
	case err != nil:
		log.Error("ignoring the saved proxy state", "err", err)
	case found:
		if err := applySaved(ctx, p, cfg); err != nil {
			log.Error("the saved proxy config does not apply; starting empty", "state", o.State, "err", err)
		} else {
			log.Info("saved config applied", "state", o.State, "listeners", len(cfg.Listeners))
		}
		if err := dnsZones.apply(cfg.DNS); err != nil {
			log.Error("the saved DNS zones do not apply", "state", o.State, "err", err)
		}
	}
	inh.closeRest(log)

	shutdown := make(chan struct{})
	srv, err := NewServer(ServerOptions{
		Proxy: p, State: o.State, DNS: dnsZones, Gatherer: reg, Log: log,
		Shutdown: func() { close(shutdown) },
	})
	if err != nil {
		return err
	}
	apiSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 2)
	go func() { serveErr <- apiSrv.Serve(apiLn) }()
	var metricsSrv *http.Server
	if metricsLn != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { serveErr <- metricsSrv.Serve(metricsLn) }()
	}
	log.Info("berth proxy serving", "socket", o.Socket, "pid", os.Getpid(), "metrics", o.Metrics)

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("signal received, closing")
	case <-shutdown:
		log.Info("shutdown requested, closing")
	case err := <-serveErr:
		runErr = fmt.Errorf("berth proxy: serving the API: %w", err)
	}

	// The proxy's ports close first (in-flight requests finish, up to 5 s);
	// the API keeps answering until then, so a caller waiting for it to go
	// quiet (Stop) knows the ports are free once it does.
	srv.StopWrites()
	if err := p.Close(); err != nil {
		log.Error("closing the proxy", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), apiShutdownTimeout)
	defer cancel()
	if err := apiSrv.Shutdown(sctx); err != nil {
		apiSrv.Close()
	}
	if metricsSrv != nil {
		metricsSrv.Close()
	}
	return runErr
}

// savedRetry is how long a saved config whose port is still in use is
// retried: a proxy killed a moment ago may still be tearing down its
// sockets (the kernel closes them as its last threads exit).
const savedRetry = 3 * time.Second

func applySaved(ctx context.Context, p *proxy.Proxy, cfg proxy.Config) error {
	deadline := time.Now().Add(savedRetry)
	for {
		err := p.Apply(cfg)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}
