// Command goapp is berth's example web app: a static page, a JSON
// endpoint that reports its version, and a health check that the image's
// HEALTHCHECK runs with -healthcheck (distroless images have no curl).
//
// Hooks serve berth's deploy tests and demo: /slow?ms=N answers like
// /version after N ms (a request in flight while a replica is drained), /ws
// is a WebSocket that says its version and echoes (one held open across a
// deploy, ws.go), and a non-empty GOAPP_FAIL_HEALTH makes /healthz answer
// 503 (a release whose health check fails, which berth deploy must roll
// back).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

// maxSlowMillis bounds /slow, so a stray request cannot hold a
// connection (and a drain) for long.
const maxSlowMillis = 10 * 60 * 1000

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	static := flag.String("static", "/app/static", "directory of static files")
	health := flag.Bool("healthcheck", false, "check the running server's /healthz and exit 0 if healthy")
	flag.Parse()

	if *health {
		c := http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get("http://127.0.0.1" + *addr + "/healthz")
		if err != nil {
			fmt.Fprintln(os.Stderr, "unhealthy:", err)
			os.Exit(1)
		}
		if resp.StatusCode != http.StatusOK {
			fmt.Fprintln(os.Stderr, "unhealthy: /healthz answered", resp.Status)
			os.Exit(1)
		}
		return
	}

	host, _ := os.Hostname()
	failHealth := os.Getenv("GOAPP_FAIL_HEALTH") != ""
	writeVersion := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"version": version, "host": host})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if failHealth {
			http.Error(w, "unhealthy: GOAPP_FAIL_HEALTH is set", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/version", func(w http.ResponseWriter, _ *http.Request) {
		writeVersion(w)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
		if err != nil || ms < 0 || ms > maxSlowMillis {
			http.Error(w, fmt.Sprintf("ms=%q: want a whole number of milliseconds, 0 to %d", r.URL.Query().Get("ms"), maxSlowMillis), http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			writeVersion(w)
		case <-r.Context().Done(): // the client left: nobody to answer
		}
	})
	mux.HandleFunc("/ws", serveWS)
	mux.Handle("/", http.FileServer(http.Dir(*static)))
	log.Printf("goapp %s listening on %s", version, *addr)
	log.Fatal(http.ListenAndServe(*addr, mux))
}
