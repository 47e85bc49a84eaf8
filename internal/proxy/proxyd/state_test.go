package proxyd

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/proxy"
)

func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if _, found, err := LoadState(path); found || err != nil {
		t.Fatalf("missing state: found %v, %v", found, err)
	}
	cfg := proxy.Config{Listeners: []proxy.Listener{{
		Addr: "127.0.0.1:8080", Mode: proxy.ModeHTTP,
		TLS: &proxy.TLS{CertFile: "/c.pem", KeyFile: "/k.pem"},
		Routes: []proxy.Route{{
			Service: "shop/web", Hosts: []string{"shop.example"}, Balance: proxy.LeastConn,
			DrainTimeout: proxy.Duration(10 * time.Second),
			Backends:     []proxy.Backend{{ID: "c1", Addr: "10.89.0.2:80", Ready: true}},
		}},
	}}}
	if err := SaveState(path, cfg); err != nil {
		t.Fatal(err)
	}
	got, found, err := LoadState(path)
	if err != nil || !found || !reflect.DeepEqual(got, cfg) {
		t.Fatalf("LoadState = %+v, %v, %v; want %+v", got, found, err, cfg)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
}

func TestStateRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"torn.json":    `{"listeners": [{"addr": "127.0.0.1:80"`,
		"unknown.json": `{"listeners": [], "routes": []}`,
		"badtime.json": `{"listeners": [{"addr": "127.0.0.1:80", "mode": "http", "routes": [{"service": "a/b", "drainTimeout": "soon", "backends": []}]}]}`,
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(content), 0o600)
		if _, _, err := LoadState(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want an error naming the file", name, err)
		}
	}
}
