package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/fixtures"
)

// aptRepoDir is the local apt repository scripts/aptrepo.sh builds, shared
// with the e2e suite and the benchmarks (see fixtures.AptRepoDir).
func aptRepoDir(t *testing.T) string {
	t.Helper()
	dir, err := fixtures.AptRepoDir()
	if err != nil {
		t.Fatal(err)
	}
	if !fixtures.AptRepoComplete(dir) {
		// Building it downloads Debian packages (minutes, cold): the e2e
		// suite or `scripts/aptrepo.sh DIR` does that, not this suite.
		if os.Getenv("CI") != "" {
			t.Fatalf("no local apt repository in %s: run scripts/aptrepo.sh %s", dir, dir)
		}
		t.Skipf("no local apt repository in %s: run scripts/aptrepo.sh %s", dir, dir)
	}
	return dir
}

// examplesDir is examples/ of the source tree.
var examplesDir = filepath.Join("..", "..", "examples")

// copyExample copies examples/NAME into dir, so builds never write into the
// source tree (berth.lock).
func copyExample(t *testing.T, name, dir string) string {
	t.Helper()
	dst := filepath.Join(dir, name)
	if err := fixtures.CopyTree(filepath.Join(examplesDir, name), dst); err != nil {
		t.Fatalf("copy example %s: %v", name, err)
	}
	return dst
}

// TestAcceptanceStackOfExamples runs the examples as a stack: the Go app
// (2 replicas, a faster health check than the image's), nginx (published on 127.0.0.1), a
// busybox service with a named volume, and a probe that reaches all three
// by service name.
func TestAcceptanceStackOfExamples(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the examples are built for linux/amd64")
	}
	need(t)
	repo := aptRepoDir(t)
	s := newStackEnv(t, "acc-stack")
	buildEnv := append([]string{"BERTH_APT_URL=file://" + repo}, s.env...)
	images := filepath.Join(s.work, "images")
	appLayout, nginxLayout := filepath.Join(images, "app"), filepath.Join(images, "nginx")
	run(t, buildEnv, "build", "-f", filepath.Join(copyExample(t, "goapp", s.work), "berth.yaml"), "app", "--oci-layout", appLayout)
	run(t, buildEnv, "build", "-f", filepath.Join(copyExample(t, "nginx", s.work), "berth.yaml"), "nginx", "--oci-layout", nginxLayout)
	bb := buildBusybox(t, s.env, images)

	port := freePort(t)
	probe := `while true; do ` +
		`echo "app: $$(wget -qO- http://app:8080/version)"; ` +
		`echo "nginx: $$(wget -qO- http://nginx:8080/ | grep -o '<h1>.*</h1>')"; ` +
		`echo "store: $$(wget -qO- http://store:8081/marker)"; ` +
		`sleep 1 & wait; done`
	s.up(fmt.Sprintf(`services:
  app:
    image: oci-layout:%[1]s:app
    deploy: {replicas: 2}
    healthcheck:
      test: ["CMD", "/app/goapp", "-healthcheck"]
      interval: 1s
      timeout: 1s
      retries: 3
  nginx:
    image: oci-layout:%[2]s:nginx
    ports: ["127.0.0.1:%[3]d:8080"]
  store:
    image: oci-layout:%[4]s:bb
    entrypoint: [/bin/sh, -c, "echo persisted > /data/marker && exec httpd -f -p 8081 -h /data"]
    volumes: ["data:/data"]
  probe:
    image: oci-layout:%[4]s:bb
    entrypoint: [/bin/sh, -c, %[5]q]
    depends_on:
      app: {condition: service_healthy}
      nginx: {condition: service_started}
      store: {condition: service_started}
volumes:
  data: {}
`, appLayout, nginxLayout, port, bb, `trap "exit 0" TERM; `+probe))

	cs := s.ps()
	names := map[string]psEntry{}
	for _, c := range cs {
		names[c.Name] = c
	}
	for _, n := range []string{"acc-stack-app-1", "acc-stack-app-2", "acc-stack-nginx-1", "acc-stack-store-1", "acc-stack-probe-1"} {
		if _, ok := names[n]; !ok {
			t.Fatalf("no container %s after up: %+v", n, cs)
		}
	}
	if len(cs) != 5 {
		t.Fatalf("%d containers after up, want 5: %+v", len(cs), cs)
	}

	// The published port answers on 127.0.0.1 with nginx's page.
	eventually(t, "nginx on the published port", 15*time.Second, func() (bool, string) {
		body, err := get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		return strings.Contains(body, "nginx from .deb packages"), fmt.Sprint(body, err)
	})
	// Both app replicas serve on their own addresses (and report their
	// own hostnames), yet neither answers on the host.
	for _, n := range []string{"acc-stack-app-1", "acc-stack-app-2"} {
		ip := names[n].IP
		eventually(t, n+" serving on "+ip, 15*time.Second, func() (bool, string) {
			body, err := get("http://" + ip + ":8080/version")
			return strings.Contains(body, `"host":"`+n+`"`), fmt.Sprint(body, err)
		})
	}
	// The app's port 8080 is not published. (Something else on the host,
	// another stack even, may listen on 127.0.0.1:8080: only an answer from
	// one of this stack's replicas counts.)
	if body, err := get("http://127.0.0.1:8080/version"); err == nil && strings.Contains(body, "acc-stack-app") {
		t.Fatalf("the unpublished app port answered on 127.0.0.1:8080: %q", body)
	}
	if body, err := get("http://127.0.0.1:8081/marker"); err == nil {
		t.Fatalf("the unpublished store port answered on 127.0.0.1:8081: %q", body)
	}

	// The probe reaches every service by name.
	eventually(t, "the probe reaching app, nginx and store by name", 30*time.Second, func() (bool, string) {
		logs := s.logs("probe")
		return strings.Contains(logs, `"version":"1.0.0"`) &&
			strings.Contains(logs, "nginx: <h1>nginx from .deb packages, built by berth</h1>") &&
			strings.Contains(logs, "store: persisted"), logs
	})
	for _, c := range s.ps() {
		if c.Service == "app" && c.Health != "healthy" {
			t.Errorf("%s health %q, want healthy", c.Name, c.Health)
		}
	}

	// The named volume holds what the store wrote.
	marker, err := os.ReadFile(filepath.Join(s.root, "volumes", "data", "_data", "marker"))
	if err != nil {
		matches, _ := filepath.Glob(filepath.Join(s.root, "volumes", "*", "_data", "marker"))
		if len(matches) != 1 {
			t.Fatalf("the store's volume holds no marker: %v (%v)", err, matches)
		}
		marker, _ = os.ReadFile(matches[0])
	}
	if string(marker) != "persisted\n" {
		t.Fatalf("volume marker %q", marker)
	}
}
