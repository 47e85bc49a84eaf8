package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestClientServerOverUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "run", "berth.sock")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/version", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, 200, VersionInfo{Version: "test", API: "v1", PID: 42})
	})
	mux.HandleFunc("POST /v1/fail", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusConflict, errors.New("port 8080 is already in use"))
	})
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		ew := NewEventWriter(w)
		ew.Send(map[string]string{"status": "a"})
		ew.Send(map[string]string{"status": "b"})
		ew.Fail(errors.New("boom"))
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	defer srv.Close()

	// A second daemon on the same socket is refused.
	if _, err := Listen(sock); err == nil || !strings.Contains(err.Error(), "another berth daemon") {
		t.Fatalf("second Listen: %v", err)
	}

	c := NewClient(sock)
	v, err := c.Ping(context.Background(), time.Second)
	if err != nil || v.PID != 42 {
		t.Fatalf("ping: %+v %v", v, err)
	}
	err = c.Do(context.Background(), http.MethodPost, "/fail", nil, map[string]int{"x": 1}, nil)
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || ae.Message != "port 8080 is already in use" {
		t.Fatalf("error: %v", err)
	}
	var got []string
	err = c.Stream(context.Background(), http.MethodGet, "/events", nil, nil, func(raw json.RawMessage) error {
		var ev map[string]string
		json.Unmarshal(raw, &ev)
		got = append(got, ev["status"])
		return nil
	})
	if err == nil || err.Error() != "boom" || strings.Join(got, ",") != "a,b" {
		t.Fatalf("stream: %v %v", got, err)
	}
}

func TestNoDaemonSaysHowToStartOne(t *testing.T) {
	c := NewClient(filepath.Join(t.TempDir(), "nothing.sock"))
	_, err := c.Ping(context.Background(), time.Second)
	if !errors.Is(err, ErrNoDaemon) || !strings.Contains(err.Error(), "berth daemon") {
		t.Fatalf("err = %v", err)
	}
}
