package registry_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"github.com/berth-dev/berth/internal/registry"
	"github.com/berth-dev/berth/internal/registry/auth"
)

func openAuthRegistry(t *testing.T, tokenMode bool) string {
	t.Helper()
	dir := t.TempDir()
	var lines []string
	for _, u := range []string{"admin", "reader"} {
		h, _ := bcrypt.GenerateFromPassword([]byte(u+"-secret"), bcrypt.MinCost)
		lines = append(lines, u+":"+string(h))
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	os.WriteFile(htpasswd, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	cfg := registry.DefaultConfig()
	cfg.Root = filepath.Join(dir, "root")
	cfg.Log.Access = false
	cfg.GC.Interval = 0
	cfg.Auth = &auth.Config{
		Htpasswd: htpasswd,
		Rules: []auth.Rule{
			{Repositories: []string{"**"}, Users: []string{"admin"}, Actions: []string{"*"}},
			{Repositories: []string{"**"}, Users: []string{"reader"}, Actions: []string{"pull"}},
		},
	}
	if tokenMode {
		cfg.Auth.Token = &auth.TokenConfig{KeyFile: filepath.Join(dir, "token.key")}
	}
	reg, err := registry.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg.Handler())
	t.Cleanup(func() { srv.Close(); reg.Close() })
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestAuthEveryEndpointRefusesAnonymous(t *testing.T) {
	for _, tokenMode := range []bool{false, true} {
		t.Run(fmt.Sprintf("token=%v", tokenMode), func(t *testing.T) {
			host := openAuthRegistry(t, tokenMode)
			const d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
			const id = "9a7e2b1c-1111-4222-8333-444455556666"
			endpoints := []struct{ method, path string }{
				{"GET", "/v2/"},
				{"GET", "/v2/_catalog"},
				{"GET", "/v2/team/app/tags/list"},
				{"HEAD", "/v2/team/app/manifests/v1"},
				{"GET", "/v2/team/app/manifests/v1"},
				{"PUT", "/v2/team/app/manifests/v1"},
				{"DELETE", "/v2/team/app/manifests/" + d},
				{"HEAD", "/v2/team/app/blobs/" + d},
				{"GET", "/v2/team/app/blobs/" + d},
				{"DELETE", "/v2/team/app/blobs/" + d},
				{"POST", "/v2/team/app/blobs/uploads/"},
				{"POST", "/v2/team/app/blobs/uploads/?mount=" + d + "&from=other/app"},
				{"PATCH", "/v2/team/app/blobs/uploads/" + id},
				{"PUT", "/v2/team/app/blobs/uploads/" + id + "?digest=" + d},
				{"GET", "/v2/team/app/blobs/uploads/" + id},
				{"DELETE", "/v2/team/app/blobs/uploads/" + id},
				{"GET", "/v2/team/app/referrers/" + d},
			}
			for _, e := range endpoints {
				req, _ := http.NewRequest(e.method, "http://"+host+e.path, strings.NewReader(""))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s %s without credentials: %d, want 401", e.method, e.path, resp.StatusCode)
				}
				ch := resp.Header.Get("WWW-Authenticate")
				want := "Basic "
				if tokenMode {
					want = "Bearer "
				}
				if !strings.HasPrefix(ch, want) {
					t.Errorf("%s %s: WWW-Authenticate %q, want %s challenge", e.method, e.path, ch, want)
				}
				if resp.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" {
					t.Errorf("%s %s: 401 without Docker-Distribution-API-Version", e.method, e.path)
				}
			}
		})
	}
}

func TestAuthPullOnlyUserCannotPushOrDelete(t *testing.T) {
	for _, tokenMode := range []bool{false, true} {
		t.Run(fmt.Sprintf("token=%v", tokenMode), func(t *testing.T) {
			host := openAuthRegistry(t, tokenMode)
			admin := remote.WithAuth(&authn.Basic{Username: "admin", Password: "admin-secret"})
			reader := remote.WithAuth(&authn.Basic{Username: "reader", Password: "reader-secret"})
			wrong := remote.WithAuth(&authn.Basic{Username: "admin", Password: "nope"})

			img, _ := random.Image(1024, 2)
			ref, _ := name.ParseReference(host+"/team/app:v1", name.Insecure)
			if err := remote.Write(ref, img, wrong); err == nil {
				t.Fatal("push with a wrong password succeeded")
			}
			if err := remote.Write(ref, img, admin); err != nil {
				t.Fatalf("admin push: %v", err)
			}
			got, err := remote.Image(ref, reader)
			if err != nil {
				t.Fatalf("reader pull: %v", err)
			}
			if _, err := got.RawConfigFile(); err != nil {
				t.Fatalf("reader pull config: %v", err)
			}
			other, _ := random.Image(1024, 1)
			ref2, _ := name.ParseReference(host+"/team/app:v2", name.Insecure)
			err = remote.Write(ref2, other, reader)
			if err == nil || !(strings.Contains(err.Error(), "DENIED") || strings.Contains(err.Error(), "403") || strings.Contains(err.Error(), "UNAUTHORIZED")) {
				t.Fatalf("reader push: err=%v, want denied", err)
			}
			d, _ := img.Digest()
			dref, _ := name.ParseReference(fmt.Sprintf("%s/team/app@%s", host, d), name.Insecure)
			if err := remote.Delete(dref, reader); err == nil {
				t.Fatal("reader delete succeeded")
			}
			if _, err := remote.Image(ref, reader); err != nil {
				t.Fatalf("image gone after a refused delete: %v", err)
			}
			if err := remote.Delete(dref, admin); err != nil {
				t.Fatalf("admin delete: %v", err)
			}
		})
	}
}
