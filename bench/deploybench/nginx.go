//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

// nginxSite is one server of the host nginx: listen, proxying to
// backend, over TLS with cert and key when they are set.
type nginxSite struct{ listen, backend, cert, key string }

// hostNginxConf is Debian's nginx as a reverse proxy, set up the way one
// would for throughput: a worker per CPU, an upstream pool of keep-alive
// connections per site (HTTP/1.1, no "Connection: close"), no access log,
// keep-alive requests unbounded on both sides (wrk's connections are not
// re-opened every 1000 requests, nor the upstream's). Everything it writes
// stays under dir.
func hostNginxConf(dir string, sites ...nginxSite) string {
	var servers strings.Builder
	for i, s := range sites {
		ssl, certs := "", ""
		if s.cert != "" {
			ssl = " ssl"
			certs = fmt.Sprintf("        ssl_certificate %s;\n        ssl_certificate_key %s;\n", s.cert, s.key)
		}
		fmt.Fprintf(&servers, `    upstream backend%[1]d {
        server %[2]s;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen %[3]s%[4]s;
%[5]s        location / {
            proxy_pass http://backend%[1]d;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }
    }
`, i, s.backend, s.listen, ssl, certs)
	}
	return fmt.Sprintf(`worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
%[2]s}
`, dir, servers.String())
}

// startHostNginx runs nginx in the foreground (a child of the driver, ended
// with it) with the configuration above and waits until the first site
// answers path.
func startHostNginx(ctx context.Context, bin, dir string, plain, tls nginxSite, path string) (*benchkit.Child, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(hostNginxConf(dir, plain, tls)), 0o644); err != nil {
		return nil, err
	}
	// -e: nginx opens its error log before reading the configuration;
	// without it that is /var/log/nginx/error.log.
	c, err := benchkit.StartChild("nginx", filepath.Join(dir, "stderr.log"),
		exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;"))
	if err != nil {
		return nil, err
	}
	if err := c.WaitReady(ctx, 15*time.Second, func() error { return httpOK("http://" + plain.listen + path) }); err != nil {
		c.Stop(5 * time.Second)
		return nil, fmt.Errorf("%w\nerror.log: %s", err, readTail(filepath.Join(dir, "error.log")))
	}
	return c, nil
}

func readTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return string(benchkit.Tail(b, 2000))
}
