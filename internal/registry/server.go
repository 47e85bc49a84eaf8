package registry

import (
	"log"
	"net/http"
	"time"
)

// MaxHeaderBytes bounds a request's line and headers. Go's default is
// 1 MiB, which let one unauthenticated request carry a 1 MiB method or
// path. nginx allows 4 x 8 KiB by default (large_client_header_buffers)
// and ingress setups raise it to 4 x 16-32 KiB for large OIDC/JWT
// Authorization tokens; 64 KiB covers those with room to spare. Go reads
// up to 4 KiB beyond this before answering 431.
const MaxHeaderBytes = 64 << 10

// HTTPServer returns the http.Server for Handler, with the timeouts and
// header size limit every listener of the registry should have.
func (r *Registry) HTTPServer(errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           r.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          errorLog,
	}
}
