// Package modeltest holds model values tests of several packages share.
package modeltest

import (
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/model"
)

// LegacyWeb is the web service's spec in internal/engine/testdata/state-v1,
// a state directory written by the code before internal/model (see its
// README): the engine's and deploy's migration tests both read it.
func LegacyWeb() model.ServiceSpec {
	par, zero := uint64(2), uint64(0)
	return model.ServiceSpec{
		Name: "web", Image: "registry.example/shop/web@sha256:1111111111111111111111111111111111111111111111111111111111111111",
		Command: []string{"serve", "--port", "8080"}, Entrypoint: []string{"/bin/web"},
		Env: map[string]string{"MODE": "prod", "EMPTY": ""}, User: "1000:1000", WorkingDir: "/srv",
		Ports: []model.PortMapping{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 8080, Protocol: "tcp"}, {HostPort: 5353, ContainerPort: 53, Protocol: "udp"}},
		Mounts: []model.Mount{{Type: "volume", Source: "shop_data", Target: "/data", External: true},
			{Type: "bind", Source: "/srv/static", Target: "/static", ReadOnly: true, CreateHostPath: true},
			{Type: "tmpfs", Target: "/tmp", TmpfsSize: 1 << 20, TmpfsMode: 0o1777}},
		Secrets: []model.Secret{{Name: "db_password", Target: "db", File: "/etc/shop/db_password", UID: 1000, GID: 1000, Mode: 0o440}},
		Health: &model.HealthCheck{Test: []string{"CMD", "/bin/web", "healthcheck"}, Interval: 2 * time.Second, Timeout: 1500 * time.Millisecond,
			StartPeriod: 10 * time.Second, StartInterval: 500 * time.Millisecond, Retries: 4},
		Restart: model.RestartPolicy{Mode: model.RestartOnFailure, MaxRetries: 3}, Replicas: 3,
		MemoryBytes: 256 << 20, CPUs: 1.5, Pids: 200, ReadOnly: true, CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"MKNOD"},
		DependsOn: map[string]string{"db": "service_healthy", "cache": "service_started"}, OptionalDeps: []string{"cache"},
		Configs: []model.Config{{Name: "nginx_conf", Target: "/etc/nginx/nginx.conf", File: "/etc/shop/nginx.conf", UID: 101, GID: 101, Mode: 0o440},
			{Name: "motd", Target: "/etc/motd", Content: "hello\n"}},
		Hostname: "web-host", Labels: map[string]string{"com.example.team": "shop"},
		StopSignal: syscall.SIGQUIT, StopTimeout: 25 * time.Second,
		Proxy: &model.ProxyOptions{Protocol: "http", Hosts: []string{"shop.example", "www.shop.example"}, Balance: "least_conn",
			DrainTimeout: 7 * time.Second, TLSCert: "/etc/shop/tls.crt", TLSKey: "/etc/shop/tls.key",
			Timeouts: model.ProxyTimeouts{ReadBody: 30 * time.Second, ResponseHeader: 45 * time.Second, Write: 90 * time.Second}},
		Update:   &model.UpdateConfig{Parallelism: &par, Delay: 3 * time.Second, FailureAction: "pause", Monitor: 20 * time.Second, MaxFailureRatio: 0.25, Order: "start-first"},
		Rollback: &model.UpdateConfig{Parallelism: &zero, FailureAction: "continue", Monitor: 5 * time.Second, Order: "stop-first"},
	}
}
