package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
)

// VersionInfo is GET /v1/version.
type VersionInfo struct {
	Version string `json:"version"`
	API     string `json:"api"`
	PID     int    `json:"pid"`
	Root    string `json:"root"`
}

// Listen creates the unix socket at path (mode 0660, its directory 0755),
// replacing a stale socket file left by a daemon that died, but refusing
// when another daemon still answers on it.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("another berth daemon is listening on %s", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// WriteJSON writes v as a JSON response.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes an error response the client turns back into *Error.
func WriteError(w http.ResponseWriter, status int, err error) {
	WriteJSON(w, status, Error{Message: err.Error()})
}

// EventWriter streams newline-delimited JSON events, flushing each.
type EventWriter struct {
	mu sync.Mutex
	w  http.ResponseWriter
	f  http.Flusher
}

// NewEventWriter starts a streaming response.
func NewEventWriter(w http.ResponseWriter) *EventWriter {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	return &EventWriter{w: w, f: f}
}

// Send writes one event.
func (e *EventWriter) Send(v any) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := json.NewEncoder(e.w).Encode(v); err != nil {
		return err
	}
	if e.f != nil {
		e.f.Flush()
	}
	return nil
}

// Fail ends a stream with an error event (the client's Stream returns it).
func (e *EventWriter) Fail(err error) {
	_ = e.Send(map[string]string{"error": err.Error()})
}
