package stack

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestRestrictingFieldsRefused: an attribute that limits or confines a
// container is refused, not warned about and dropped (the service would
// run with fewer limits than the file sets).
func TestRestrictingFieldsRefused(t *testing.T) {
	dir := write(t, map[string]string{"compose.yaml": `
services:
  app:
    image: app
    sysctls: {net.core.somaxconn: 1024}
    ulimits: {nofile: 1024}
    shm_size: 64m
  other:
    image: other
    security_opt: ["apparmor:strict"]
    cpu_shares: 512
`})
	_, _, err := Load(t.Context(), LoadOptions{Files: []string{filepath.Join(dir, "compose.yaml")}})
	if err == nil {
		t.Fatal("restricting attributes were accepted")
	}
	for _, want := range []string{"compose.yaml: ", "services.app.sysctls", "services.app.ulimits", "services.app.shm_size",
		"services.other.security_opt", "services.other.cpu_shares", "fewer limits"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestUnsupportedFieldsWarnOncePerField(t *testing.T) {
	dir := write(t, map[string]string{"compose.yaml": `
services:
  app:
    image: app
    privileged: true
    devices: ["/dev/fuse:/dev/fuse"]
    network_mode: host
    pid: host
    extra_hosts: ["db:10.0.0.1"]
    logging: {driver: syslog}
    expose: ["80", "81"]
    container_name: app1
    init: true
    ports:
      - {target: 80, published: "8080", app_protocol: http}
      - {target: 81, published: "8081", app_protocol: http}
    volumes:
      - {type: volume, source: v, target: /v, volume: {nocopy: true}}
    deploy:
      mode: global
      placement: {constraints: ["node.role==manager"]}
      resources: {reservations: {memory: 1G}}
      restart_policy: {condition: any, delay: 5s}
    depends_on:
      other: {condition: service_started, restart: true}
  other:
    image: other
    stdin_open: true
  off:
    image: off
    profiles: [debug]
    privileged: true
volumes:
  v: {driver: nfs, driver_opts: {type: nfs}}
networks:
  default: {ipam: {config: [{subnet: 10.9.0.0/24}]}}
`})
	_, warns := load(t, LoadOptions{Files: []string{filepath.Join(dir, "compose.yaml")}})
	var got []string
	for _, w := range warns {
		got = append(got, w.String())
	}
	sort.Strings(got)
	wantFields := []string{
		"networks.default.ipam",
		"services.app.container_name",
		"services.app.deploy.mode",
		"services.app.deploy.placement",
		"services.app.deploy.resources.reservations",
		"services.app.deploy.restart_policy.delay",
		"services.app.depends_on.other.restart",
		"services.app.devices",
		"services.app.expose",
		"services.app.extra_hosts",
		"services.app.init",
		"services.app.logging",
		"services.app.network_mode",
		"services.app.pid",
		"services.app.ports[].app_protocol",
		"services.app.privileged",
		"services.app.volumes[].volume.nocopy",
		"services.other.stdin_open",
		"volumes.v.driver",
		"volumes.v.driver_opts",
	}
	if len(got) != len(wantFields) {
		t.Errorf("got %d warnings, want %d:\n%s", len(got), len(wantFields), strings.Join(got, "\n"))
	}
	for _, f := range wantFields {
		found := false
		for _, g := range got {
			if strings.HasPrefix(g, f+": ") {
				found = true
			}
		}
		if !found {
			t.Errorf("no warning for %s; got:\n%s", f, strings.Join(got, "\n"))
		}
	}
	// The disabled profile's service is not reported.
	for _, g := range got {
		if strings.HasPrefix(g, "services.off.") {
			t.Errorf("warning for a service disabled by profiles: %s", g)
		}
	}
	msg := FormatWarnings(warns)
	if !strings.HasPrefix(msg, "warning: 20 attribute(s) not supported") || strings.Count(msg, "\n") != 20 {
		t.Errorf("FormatWarnings:\n%s", msg)
	}
	if FormatWarnings(nil) != "" {
		t.Error("FormatWarnings(nil) should be empty")
	}
}
