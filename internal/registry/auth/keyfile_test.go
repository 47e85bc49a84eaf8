package auth

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestKeyFileCreatedPrivateAndReused(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "sub", "token.key")
	cfg := basicConfig(t)
	cfg.Token = &TokenConfig{KeyFile: keyPath}

	first, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(keyPath)
	if err != nil {
		t.Fatalf("key file not created: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("key file mode = %v, want 0600", perm)
	}
	content, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(keyPath))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}

	// A token from the first Authorizer passes a second one built later
	// from the same file, as after a restart.
	tok, _, err := first.tokens.issue("writer", []Scope{RepositoryScope("team/a", ActionPull)})
	if err != nil {
		t.Fatal(err)
	}
	second, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(keyPath)
	if !bytes.Equal(content, again) {
		t.Fatal("key file rewritten on the second start")
	}
	req := httptest.NewRequest("GET", "/v2/team/a/manifests/v1", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if user, err := second.Authorize(req, []Scope{RepositoryScope("team/a", ActionPull)}); err != nil || user != "writer" {
		t.Fatalf("token across restart: %q %v", user, err)
	}
}

func TestKeyFileConcurrentCreationAgrees(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.key")
	keys := make([][]byte, 8)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], errs[i] = loadOrCreateKey(path, quietLogger())
		}()
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatal("concurrent starts ended up with different keys")
		}
	}
}

func TestKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte("not base64 !!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short.key")
	if err := os.WriteFile(short, []byte("c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{bad, short} {
		_, err := loadOrCreateKey(p, quietLogger())
		if err == nil || !strings.Contains(err.Error(), "token.keyFile") || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %v", p, err)
		}
	}
	// A directory that cannot be created.
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOrCreateKey(filepath.Join(blocker, "token.key"), quietLogger()); err == nil || !strings.Contains(err.Error(), "token.keyFile") {
		t.Errorf("uncreatable: err = %v", err)
	}
}

func TestKeyFileLoosePermissionsWarns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.key")
	if _, err := loadOrCreateKey(path, quietLogger()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := loadOrCreateKey(path, slog.New(slog.NewTextHandler(&buf, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "chmod 600") {
		t.Fatalf("no warning logged: %q", buf.String())
	}
}

func TestNoKeyFileKeepsKeyInMemory(t *testing.T) {
	k1, err := loadOrCreateKey("", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := loadOrCreateKey("", quietLogger())
	if len(k1) != signingKeySize || bytes.Equal(k1, k2) {
		t.Fatal("in-memory keys must be random and full length")
	}
}
