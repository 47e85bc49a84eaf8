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

// The anchor: Debian's docker-compose 1.29 on docker.io 20.10, the app
// scaled to 3 behind an nginx container (the nginx image of
// examples/nginx, built by berth, with this configuration mounted) that
// proxies to the service name. A release is `docker-compose up -d` after
// the image tag changed (APP_TAG), which recreates the app's containers.

// composeYAML is the project. The app's health check is the berth stack's;
// compose does not wait for it, but docker reports it.
func composeYAML(port int) string {
	return fmt.Sprintf(`version: "2.4"
services:
  app:
    image: app:${APP_TAG}
    scale: 3
    healthcheck:
      test: ["CMD", "/app/goapp", "-healthcheck"]
      interval: 1s
      timeout: 1s
      retries: 3
  proxy:
    image: nginx:bench
    volumes: ["./nginx.conf:/etc/nginx/nginx.conf:ro"]
    ports: ["127.0.0.1:%d:8080"]
    depends_on: [app]
`, port)
}

// composeNginxConf resolves the service name through Docker's DNS at
// request time (valid=1s), so recreated containers' new addresses are
// found; with the name resolving to several addresses nginx balances over
// them and retries the next one on a connection error (proxy_next_upstream's
// default). A name in a plain upstream block would be resolved once, at
// start, and keep the old containers' addresses.
const composeNginxConf = `user www-data;
worker_processes auto;
pid /run/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
    resolver 127.0.0.11 valid=1s ipv6=off;
    server {
        listen 8080;
        location / {
            set $app http://app:8080;
            proxy_pass $app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`

type composeRelease struct {
	dd   *benchkit.Dockerd
	bin  string
	dir  string
	port int
}

func (c *composeRelease) addr() string { return fmt.Sprintf("127.0.0.1:%d", c.port) }

func (c *composeRelease) run(ctx context.Context, tag string, args ...string) error {
	cmd := exec.CommandContext(ctx, c.bin, append([]string{"-p", releaseStack}, args...)...)
	cmd.Dir = c.dir
	cmd.Env = append(append(os.Environ(), c.dd.Env...), "APP_TAG="+tag)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, benchkit.Tail(out, 3000))
	}
	return nil
}

// startCompose loads the images into the private dockerd and brings the
// project up with the first version.
func startCompose(ctx context.Context, dd *benchkit.Dockerd, bin string, im *images, dir string) (*composeRelease, error) {
	for _, k := range []string{appVersions[0], appVersions[1], "nginx"} {
		if _, err := dd.Run(ctx, "load", "-i", im.archives[k]); err != nil {
			return nil, err
		}
	}
	port, err := benchkit.FreePort()
	if err != nil {
		return nil, err
	}
	c := &composeRelease{dd: dd, bin: bin, dir: dir, port: port}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(composeYAML(port)), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(composeNginxConf), 0o644); err != nil {
		return nil, err
	}
	if err := c.run(ctx, appVersions[0], "up", "-d"); err != nil {
		return nil, err
	}
	return c, waitHTTP(ctx, "http://"+c.addr()+benchPath("goapp"), 60*time.Second)
}

func (c *composeRelease) release(ctx context.Context, o options, from, to string) (releaseResult, error) {
	r := releaseResult{Tool: "compose", From: from, To: to, Command: "APP_TAG=" + to + " docker-compose up -d"}
	err := underLoad(ctx, o, c.addr(), &r, func(ctx context.Context) error {
		return c.run(ctx, to, "up", "-d")
	})
	return r, err
}

// down removes the project (containers and its network).
func (c *composeRelease) down() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_ = c.run(ctx, appVersions[0], "down", "--timeout", "5")
}
