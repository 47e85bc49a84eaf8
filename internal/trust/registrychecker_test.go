package trust_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/registry"
	"github.com/berth-dev/berth/internal/sign"
	"github.com/berth-dev/berth/internal/trust"
)

// TestRegistryCheckerRequireSignatureKeys: berth's registry with
// requireSignature: {keys: [release.pub]} and the real checker refuses a
// pull by tag of an unsigned manifest and of one signed by another key,
// and serves it once release.key signed it. The checker reads the
// signatures through the registry's in-process read port.
func TestRegistryCheckerRequireSignatureKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good, other := newKey(t, dir, "release"), newKey(t, dir, "other")
	cfg := registry.DefaultConfig()
	cfg.Root = t.TempDir()
	cfg.Log.Access = false
	cfg.GC.Interval = 0
	cfg.Repositories = []registry.RepositoryRule{{Match: []string{"prod/**"}, RequireSignature: registry.SignatureRule{Enabled: true, Keys: []string{good.pub}}}}
	cfg.SignatureChecker = trust.RegistryChecker{}
	reg, err := registry.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg.Handler())
	t.Cleanup(func() { srv.Close(); reg.Close() })
	host := strings.TrimPrefix(srv.URL, "http://")

	ref := pushRandom(t, host+"/prod/app:1.0")
	pull := func() (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v2/prod/app/manifests/1.0", nil)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := pull(); code != http.StatusForbidden || !strings.Contains(body, "no signature that verifies with the repository's keys") {
		t.Fatalf("unsigned: %d %s", code, body)
	}
	if _, err := sign.Sign(ctx, ref, other.priv, sign.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, body := pull(); code != http.StatusForbidden {
		t.Fatalf("signed by another key: %d %s", code, body)
	}
	if _, err := sign.Sign(ctx, ref, good.priv, sign.SignOptions{Format: sign.FormatLegacy}); err != nil {
		t.Fatal(err)
	}
	if code, body := pull(); code != http.StatusOK {
		t.Fatalf("signed by release.key: %d %s", code, body)
	}
}

// TestRegistryCheckerKeysLoadedAtStart: the registry reads its
// requireSignature keys once, when it opens: a pull after the key file is
// gone still verifies (no key file is read per pull); a key file that is
// not a usable public key is an error at start, naming the field and the
// file.
func TestRegistryCheckerKeysLoadedAtStart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good := newKey(t, dir, "release")
	cfg := registry.DefaultConfig()
	cfg.Root = t.TempDir()
	cfg.Log.Access = false
	cfg.GC.Interval = 0
	cfg.Repositories = []registry.RepositoryRule{{Match: []string{"prod/**"}, RequireSignature: registry.SignatureRule{Enabled: true, Keys: []string{good.pub}}}}
	cfg.SignatureChecker = trust.RegistryChecker{}
	reg, err := registry.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg.Handler())
	t.Cleanup(func() { srv.Close(); reg.Close() })
	host := strings.TrimPrefix(srv.URL, "http://")

	ref := pushRandom(t, host+"/prod/app:1.0")
	if err := os.Remove(good.pub); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Sign(ctx, ref, good.priv, sign.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v2/prod/app/manifests/1.0", nil)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("signed pull with the key file removed after start: %d %s", resp.StatusCode, b)
		}
	}

	bad := filepath.Join(dir, "bad.pub")
	if err := os.WriteFile(bad, []byte("-----BEGIN PUBLIC KEY-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Root = t.TempDir()
	cfg.Repositories[0].RequireSignature.Keys = []string{good.pub + ".missing", bad}
	if _, err := registry.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "repositories[0].requireSignature.keys[0]") || !strings.Contains(err.Error(), good.pub+".missing") {
		t.Errorf("missing key at start: %v", err)
	}
	cfg.Repositories[0].RequireSignature.Keys = []string{bad}
	if _, err := registry.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "repositories[0].requireSignature.keys[0]") || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad key at start: %v", err)
	}
}
