// Package proxyd is the proxy process: it runs berth's reverse proxy as
// its own process (`berth proxy`) and lets the daemon drive it. The proxy must keep serving
// published ports while the daemon restarts or crashes, so it lives in a
// detached process like the container shims; the daemon finds it (or
// starts it: Ensure) and pushes the whole desired Config over an HTTP API
// on a unix socket (Client). The proxy saves each applied Config to a
// state file, so a proxy process that is itself restarted serves the same
// ports at once.
//
// Endpoints:
//
//	PUT  /config            apply a proxy.Config; 204, or 400/409 {"error": "..."}
//	GET  /config            the current proxy.Config
//	GET  /status            []proxy.RouteStatus
//	POST /drain?backend=ID  returns (204) when the backend has nothing in flight
//	GET  /metrics           Prometheus text
//	GET  /healthz           {"pid": N}
//	GET  /listeners         the listening sockets, as SCM_RIGHTS messages (handover.go)
//	POST /shutdown          202, then the process closes and exits
package proxyd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/berth-dev/berth/internal/proxy"
)

// maxConfigBytes bounds a PUT /config body; a real config for hundreds of
// listeners is well under 1 MiB.
const maxConfigBytes = 8 << 20

// Health is GET /healthz.
type Health struct {
	PID int `json:"pid"`
}

// errorBody is every error response.
type errorBody struct {
	Error string `json:"error"`
}

// ServerOptions configures NewServer.
type ServerOptions struct {
	Proxy    *proxy.Proxy
	State    string              // state file written after every successful Apply
	DNS      *dnsHost            // hosts Config.DNS; nil: DNS zones are ignored
	Gatherer prometheus.Gatherer // for /metrics; nil: 404
	Log      *slog.Logger
	// Shutdown is called (once) for POST /shutdown; nil: 404.
	Shutdown func()
}

// Server is the proxy process's API handler.
type Server struct {
	o       ServerOptions
	log     *slog.Logger
	mux     *http.ServeMux
	applyMu sync.Mutex // one Apply + state write at a time, so the file matches the last Apply
	closing atomic.Bool
	once    sync.Once
}

// NewServer returns the API handler over o.Proxy.
func NewServer(o ServerOptions) (*Server, error) {
	if o.Proxy == nil {
		return nil, errors.New("proxy api: no proxy")
	}
	if o.State == "" {
		return nil, errors.New("proxy api: state file path is empty")
	}
	s := &Server{o: o, log: o.Log, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.mux.HandleFunc("PUT /config", s.putConfig)
	s.mux.HandleFunc("GET /config", s.getConfig)
	s.mux.HandleFunc("GET /status", s.getStatus)
	s.mux.HandleFunc("GET /certificates", s.getCertificates)
	s.mux.HandleFunc("POST /drain", s.drain)
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /listeners", s.listenerFiles)
	if o.Gatherer != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	}
	if o.Shutdown != nil {
		s.mux.HandleFunc("POST /shutdown", s.shutdown)
	}
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// StopWrites makes later PUT /config and drain calls fail with 503: once
// the process is closing its listeners, an Apply must not open new ones.
func (s *Server) StopWrites() { s.closing.Store(true) }

func (s *Server) putConfig(w http.ResponseWriter, r *http.Request) {
	if s.closing.Load() {
		writeError(w, http.StatusServiceUnavailable, errors.New("the proxy is shutting down"))
		return
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxConfigBytes))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("reading config: %w", err))
		return
	}
	cfg, err := decodeConfig(b)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	// Apply is atomic: on error nothing changed, so the state file (the
	// previous Config) stays right and is not touched.
	if err := s.o.Proxy.Apply(cfg); err != nil {
		writeError(w, applyStatus(err), err)
		return
	}
	if s.o.DNS != nil {
		if err := s.o.DNS.apply(cfg.DNS); err != nil {
			// The listeners are live, the state file not updated: the
			// daemon sees the error and pushes again on its next change.
			writeError(w, http.StatusConflict, fmt.Errorf("listeners applied, but %w", err))
			return
		}
	}
	if err := SaveState(s.o.State, cfg); err != nil {
		// The config is live but would be lost on a restart; the daemon
		// must know, and will push it again.
		s.log.Error("saving proxy state", "err", err)
		writeError(w, http.StatusInternalServerError, fmt.Errorf("applied, but %w", err))
		return
	}
	s.log.Debug("config applied", "listeners", len(cfg.Listeners), "dns", len(cfg.DNS))
	w.WriteHeader(http.StatusNoContent)
}

// applyStatus tells a config the host cannot serve right now (an address
// in use, a port needing privileges, a certificate file missing: 409) from
// one that is wrong in itself (400).
func applyStatus(err error) int {
	var opErr *net.OpError
	var pathErr *os.PathError
	if errors.As(err, &opErr) || errors.As(err, &pathErr) ||
		errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EADDRNOTAVAIL) {
		return http.StatusConflict
	}
	return http.StatusBadRequest
}

func (s *Server) getConfig(w http.ResponseWriter, _ *http.Request) {
	cfg := s.o.Proxy.Config()
	if s.o.DNS != nil {
		cfg.DNS = s.o.DNS.current()
	}
	writeJSON(w, http.StatusOK, cfg)
}

func (s *Server) getStatus(w http.ResponseWriter, _ *http.Request) {
	st := s.o.Proxy.Status()
	if st == nil {
		st = []proxy.RouteStatus{}
	}
	writeJSON(w, http.StatusOK, st)
}

// getCertificates reports the automatic (tls auto) certificates.
func (s *Server) getCertificates(w http.ResponseWriter, _ *http.Request) {
	st := s.o.Proxy.Certificates()
	if st == nil {
		st = []proxy.CertStatus{}
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) drain(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("backend")
	if id == "" {
		writeError(w, http.StatusBadRequest, errors.New("drain: query parameter backend (the backend ID) is missing"))
		return
	}
	// The request's context ends when the daemon disconnects (it gave up
	// or died): the drain wait stops with it instead of lingering.
	if err := s.o.Proxy.Drain(r.Context(), id); err != nil {
		if r.Context().Err() != nil {
			return // nobody is listening for the answer
		}
		writeError(w, http.StatusInternalServerError, fmt.Errorf("drain %s: %w", id, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, Health{PID: os.Getpid()})
}

func (s *Server) shutdown(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusAccepted)
	s.once.Do(s.o.Shutdown)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, errorBody{Error: err.Error()})
}
