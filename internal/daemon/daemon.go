package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/internal/console"
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/api"
	"github.com/berth-dev/berth/internal/engine/network"
	"github.com/berth-dev/berth/internal/engine/runtime"
	"github.com/berth-dev/berth/internal/proxy/proxyd"
	"github.com/berth-dev/berth/internal/store"
)

// Options configure a daemon.
type Options struct {
	Root   string // default /var/lib/berth
	Socket string // default api.DefaultSocket
	RunDir string // default /run/berth
	// CNIPath lists the directories holding the CNI plugins; nil means
	// network.DefaultPluginDirs.
	CNIPath []string
	Version string
	Log     *slog.Logger
	// ProxyMetrics, when set, is a TCP address where the proxy serves
	// Prometheus metrics (they are on its socket too).
	ProxyMetrics string
	// ACME: where x-berth-proxy tls: auto gets certificates.
	ACME ACMEOptions
	// Console, when its Addr is set, serves the web console
	// (internal/console) there, e.g. 127.0.0.1:9090; Users is its
	// htpasswd-style users file (bcrypt), without which the daemon logs a
	// one-time login token; AnonymousRead opens its pages to reading
	// without a login.
	Console console.Access
}

// Run opens everything, serves the API until ctx ends, then stops serving.
// Containers keep running under their supervisors when the daemon stops;
// the next daemon re-adopts them.
func Run(ctx context.Context, o Options) error {
	if o.Root == "" {
		o.Root = "/var/lib/berth"
	}
	if o.RunDir == "" {
		o.RunDir = "/run/berth"
	}
	if o.Socket == "" {
		o.Socket = api.DefaultSocket
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	acme, err := o.ACME.settings()
	if err != nil {
		return fmt.Errorf("berth daemon: %w", err)
	}
	if os.Geteuid() != 0 {
		return errors.New("berth daemon must run as root (it creates namespaces, cgroups, mounts and network devices)")
	}
	runc := runtime.Runc{Root: filepath.Join(o.RunDir, "runc")}
	if _, err := runc.LookPath(); err != nil {
		return fmt.Errorf("%w: apt-get install runc", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	st, err := store.Open(o.Root)
	if err != nil {
		return err
	}
	defer st.Close()
	nm, err := network.NewManager(filepath.Join(o.Root, "networks"), o.RunDir, o.CNIPath)
	if err != nil {
		return err
	}
	nets := newNetworks(nm)
	defer nets.close()
	// One gate for both adapters: the runtime ends the starts the
	// networks began (see startGate).
	aaProfile, aaSkipped, err := runtime.SetupAppArmor()
	if err != nil {
		return err
	}
	if aaSkipped != "" {
		o.Log.Info("containers run without an AppArmor profile: " + aaSkipped)
	}
	rt := &containerRuntime{runc: runc, root: o.Root, executable: exe, starts: nets.starts, apparmor: aaProfile}
	eng, err := engine.New(o.Root, images{s: st}, rt, nets, o.Log)
	if err != nil {
		return err
	}
	defer eng.Close()
	if err := eng.Restore(ctx); err != nil {
		o.Log.Warn("restoring networks of adopted containers", "err", err)
	}
	// The proxy runs as its own process, like the containers' shims, so
	// published ports keep answering while the daemon is away; a proxy
	// left running by the previous daemon is reused.
	proxySocket := filepath.Join(o.RunDir, "proxy.sock")
	proxyDir := filepath.Join(o.Root, "proxy")
	if err := os.MkdirAll(proxyDir, 0o700); err != nil {
		return err
	}
	// The daemon holds a copy of the proxy's listening sockets, so they
	// stay open (connections queue, none is refused) while the proxy
	// process is restarted or upgraded; see proxyd.Holder.
	holder := &proxyd.Holder{}
	defer holder.Close()
	proxyOpts := proxyd.EnsureOptions{Binary: exe, Socket: proxySocket,
		State: filepath.Join(proxyDir, "state.json"), Metrics: o.ProxyMetrics, LogFile: filepath.Join(proxyDir, "proxy.log"),
		Holder: holder}
	px, err := proxyd.Ensure(ctx, proxyOpts)
	if err != nil {
		return fmt.Errorf("starting the proxy: %w", err)
	}
	if px, err = replaceOtherBinaryProxy(ctx, px, proxyOpts, o.Log); err != nil {
		return fmt.Errorf("starting the proxy: %w", err)
	}
	eng.SetACME(acme)
	if err := eng.SetRouter(ctx, px.Hold(holder)); err != nil {
		o.Log.Warn("bringing the proxy up to date", "err", err)
	}
	superviseCtx, stopSupervising := context.WithCancel(ctx)
	supervised := make(chan struct{})
	go func() { defer close(supervised); superviseProxy(superviseCtx, proxyOpts, eng, o.Log) }()
	defer func() { stopSupervising(); <-supervised }()
	dep, err := deploy.NewDeployer(eng, filepath.Join(o.Root, "deploy"), o.Log)
	if err != nil {
		return err
	}
	// The one route table: every endpoint of the API and what serves it.
	mux := api.Mux(api.Routes(api.VersionInfo{Version: o.Version, Root: o.Root}, eng, dep))

	if o.Console.Addr != "" {
		stopConsole, err := serveConsole(o.Console, consolePorts{eng: eng, dep: dep, st: st}, o.Log)
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			stopConsole(sctx)
		}()
	}

	l, err := api.Listen(o.Socket)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	o.Log.Info("berth daemon listening", "socket", o.Socket, "root", o.Root, "containers", len(eng.Containers("")))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	os.Remove(o.Socket)
	// With no container left nothing needs the proxy; otherwise it keeps
	// serving for the next daemon.
	if len(eng.Containers("")) == 0 {
		if err := proxyd.Stop(sctx, proxySocket); err != nil {
			o.Log.Warn("stopping the proxy", "err", err)
		}
	}
	return nil
}
