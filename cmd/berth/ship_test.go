package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shipFixture writes a berth.yaml whose service web is built from image
// app, with environment staging's registry a real berth registry.
func shipFixture(t *testing.T) (file, registry string) {
	t.Helper()
	t.Setenv("BERTH_CACHE", t.TempDir())
	registry = promoteRegistry(t)
	file = filepath.Join(t.TempDir(), "berth.yaml")
	berthYAML := `images:
  app:
    layers:
      - name: etc
        paths: [{path: /etc/app, type: directory}]
services:
  web:
    build: app
environments:
  staging:
    registry: ` + registry + `
    repository: example
`
	if err := os.WriteFile(file, []byte(berthYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, registry
}

func catalog(t *testing.T, registry string) string {
	t.Helper()
	resp, err := http.Get("http://" + registry + "/v2/_catalog")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestShipChecksDaemonFirst: with no daemon, ship --env staging fails
// saying so before building or pushing anything: staging's tag is not
// moved (it used to be pushed, then "no berth daemon").
func TestShipChecksDaemonFirst(t *testing.T) {
	file, registry := shipFixture(t)
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, args := range [][]string{
		{"ship", "--env", "staging", "--tag", "1.0.0"},
		{"deploy", "--env", "staging"},
		{"up"},
	} {
		_, stderr, err := runCLI(t, append(args, "-f", file, "--socket", sock)...)
		if err == nil || !strings.Contains(err.Error(), "no berth daemon") {
			t.Errorf("%v: error %v", args, err)
		}
		if strings.Contains(stderr, "building") || strings.Contains(stderr, "etc") {
			t.Errorf("%v built before checking the daemon:\n%s", args, stderr)
		}
	}
	if c := catalog(t, registry); strings.Contains(c, "example/app") {
		t.Errorf("pushed with no daemon: %s", c)
	}
}

// TestShipTagNeedsEnv: ship --tag without --env is refused, as deploy
// --tag is, instead of being ignored.
func TestShipTagNeedsEnv(t *testing.T) {
	file, _ := shipFixture(t)
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, cmd := range []string{"ship", "deploy"} {
		_, _, err := runCLI(t, cmd, "--tag", "1.0.0", "-f", file, "--socket", sock)
		if err == nil || !strings.Contains(err.Error(), "--tag 1.0.0 needs --env NAME") {
			t.Errorf("%s --tag without --env: %v", cmd, err)
		}
	}
}
