//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/bench/internal/benchkit"
)

// hostNginxConf is Debian's nginx as a reverse proxy to one backend, set up
// the way one would for throughput: a worker per CPU, an upstream pool of
// keep-alive connections (HTTP/1.1, no "Connection: close"), no access log.
// Everything it writes stays under dir.
func hostNginxConf(dir, listen, backend string) string {
	return fmt.Sprintf(`worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    upstream backend {
        server %[3]s;
        keepalive 64;
    }
    server {
        listen %[2]s;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }
    }
}
`, dir, listen, backend)
}

// startHostNginx runs nginx in the foreground (a child of the driver, ended
// with it) with the configuration above and waits until listen answers.
func startHostNginx(ctx context.Context, bin, dir, listen, backend, path string) (*benchkit.Child, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(hostNginxConf(dir, listen, backend)), 0o644); err != nil {
		return nil, err
	}
	// -e: nginx opens its error log before reading the configuration;
	// without it that is /var/log/nginx/error.log.
	c, err := benchkit.StartChild("nginx", filepath.Join(dir, "stderr.log"),
		exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;"))
	if err != nil {
		return nil, err
	}
	if err := c.WaitReady(ctx, 15*time.Second, func() error { return httpOK("http://" + listen + path) }); err != nil {
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
