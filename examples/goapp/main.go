// Command goapp is berth's example web app: a static page, a JSON
// endpoint that reports its version, and a health check that the image's
// HEALTHCHECK runs with -healthcheck (distroless images have no curl).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"
)

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
		if err != nil || resp.StatusCode != http.StatusOK {
			fmt.Fprintln(os.Stderr, "unhealthy:", err)
			os.Exit(1)
		}
		return
	}

	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/version", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"version": version, "host": host})
	})
	mux.Handle("/", http.FileServer(http.Dir(*static)))
	log.Printf("goapp %s listening on %s", version, *addr)
	log.Fatal(http.ListenAndServe(*addr, mux))
}
