package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Serve runs the registry of cfg on cfg.Addr (TLS when configured) with
// online garbage collection, until ctx ends or SIGTERM/SIGINT; then it
// stops accepting and lets requests in flight (uploads) finish within
// cfg.ShutdownTimeout.
func Serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	reg, err := Open(cfg, log)
	if err != nil {
		return err
	}
	defer reg.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if cfg.Console.Addr != "" {
		stopConsole, err := reg.serveConsole(cfg.Console, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			stopConsole(sctx)
		}()
	}
	srv := reg.HTTPServer(slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	gcCtx, stopGC := context.WithCancel(ctx)
	defer stopGC()
	go reg.RunGC(gcCtx)

	errc := make(chan error, 1)
	go func() {
		if cfg.TLS.Cert != "" {
			errc <- srv.ServeTLS(ln, cfg.TLS.Cert, cfg.TLS.Key)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	log.Info("registry listening", "addr", ln.Addr().String(), "root", cfg.Root, "tls", cfg.TLS.Cert != "", "auth", cfg.Auth != nil,
		"allow_sparse_manifests", cfg.AllowSparseManifests)

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case <-ctx.Done():
	}
	// Graceful shutdown: stop accepting, let in-flight requests (uploads)
	// finish within the timeout.
	log.Info("shutting down: waiting for in-flight requests", "timeout", time.Duration(cfg.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.ShutdownTimeout))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	return nil
}

// ServeDebug serves net/http/pprof on its own listener, never on the
// registry's port, so profiles are not exposed to registry clients.
func ServeDebug(addr string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	if err := http.ListenAndServe(addr, mux); err != nil {
		slog.Error("debug server", "addr", addr, "err", err)
	}
}
