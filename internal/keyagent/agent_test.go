package keyagent

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startAgent serves a new agent on a socket in a temp dir until the test ends.
func startAgent(t *testing.T) (*Agent, *Client) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent", "agent.sock")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	a := New()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return a, &Client{Socket: sock}
}

func pkcs8(t *testing.T, k crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestSignThroughAgentVerifies(t *testing.T) {
	_, c := startAgent(t)
	ctx := context.Background()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	msg := []byte("payload")
	sum := sha256.Sum256(msg)
	for name, k := range map[string]crypto.Signer{"ecdsa": ec, "rsa": rk, "ed25519": ed} {
		t.Run(name, func(t *testing.T) {
			id := KeyID([]byte("key file of " + name))
			if _, err := c.Signer(ctx, id); !errors.Is(err, ErrNotLoaded) {
				t.Fatalf("before add: err = %v, want ErrNotLoaded", err)
			}
			if _, err := c.Add(ctx, id, name+".key", pkcs8(t, k), 0); err != nil {
				t.Fatal(err)
			}
			s, err := c.Signer(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			switch pub := s.Public().(type) {
			case *ecdsa.PublicKey:
				sig, err := s.Sign(rand.Reader, sum[:], crypto.SHA256)
				if err != nil || !ecdsa.VerifyASN1(pub, sum[:], sig) {
					t.Fatalf("ecdsa signature does not verify (err %v)", err)
				}
			case *rsa.PublicKey:
				sig, err := s.Sign(rand.Reader, sum[:], crypto.SHA256)
				if err != nil || rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
					t.Fatalf("rsa signature does not verify (err %v)", err)
				}
			case ed25519.PublicKey:
				sig, err := s.Sign(rand.Reader, msg, crypto.Hash(0))
				if err != nil || !ed25519.Verify(pub, msg, sig) {
					t.Fatalf("ed25519 signature does not verify (err %v)", err)
				}
			default:
				t.Fatalf("public key %T", pub)
			}
		})
	}
	keys, err := c.List(ctx)
	if err != nil || len(keys) != 3 {
		t.Fatalf("list = %d keys, %v; want 3", len(keys), err)
	}
	if keys[0].Name != "ecdsa.key" {
		t.Errorf("list is not sorted by name: %+v", keys[0])
	}
}

func TestKeysExpireAndAreRemoved(t *testing.T) {
	a, c := startAgent(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	a.mu.Lock()
	a.now = func() time.Time { return now }
	a.mu.Unlock()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := KeyID([]byte("k"))
	e, err := c.Add(ctx, id, "k", pkcs8(t, k), 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Expires.Equal(now.Add(90 * time.Second)) {
		t.Errorf("expires %v, want %v", e.Expires, now.Add(90*time.Second))
	}
	if _, err := c.Signer(ctx, id); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	now = now.Add(90 * time.Second)
	a.mu.Unlock()
	if _, err := c.Signer(ctx, id); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("after ttl: %v, want ErrNotLoaded", err)
	}
	if keys, _ := c.List(ctx); len(keys) != 0 {
		t.Fatalf("expired key still listed: %+v", keys)
	}
	if _, err := c.Add(ctx, id, "k", pkcs8(t, k), 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(ctx, id); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("second remove: %v, want ErrNotLoaded", err)
	}
}

func TestBadRequestsAreRefused(t *testing.T) {
	_, c := startAgent(t)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		id   string
		der  []byte
		want string
	}{
		"bad id":      {"md5:abc", []byte{1}, "not sha256"},
		"not pkcs8":   {KeyID(nil), []byte("junk"), "not PKCS#8"},
		"empty pkcs8": {KeyID(nil), nil, "not PKCS#8"},
	} {
		if _, err := c.Add(ctx, tc.id, "", tc.der, 0); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
	if _, err := c.Add(ctx, KeyID(nil), "", nil, -time.Second); err == nil {
		t.Error("negative ttl accepted")
	}
	// Raw protocol errors: unknown op, malformed JSON, an oversized line.
	for _, line := range []string{`{"op":"steal"}`, `{"op":`, `{"op":"list","name":"` + strings.Repeat("x", maxMessage) + `"}`} {
		conn, err := net.Dial("unix", c.Socket)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte(line + "\n"))
		buf := make([]byte, 512)
		n, _ := conn.Read(buf)
		conn.Close()
		if !strings.Contains(string(buf[:n]), `"error"`) {
			t.Errorf("%.20q…: answer %q, want an error", line, buf[:n])
		}
	}
}

func TestListenSocketModesAndStaleSocket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a")
	sock := filepath.Join(dir, "agent.sock")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, sock: 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", path, st.Mode().Perm(), want)
		}
	}
	if _, err := Listen(sock); err == nil || !strings.Contains(err.Error(), "already listens") {
		t.Fatalf("second agent on a live socket: %v", err)
	}
	// A socket nobody answers (agent killed) is replaced.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l2, err := Listen(sock)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	l2.Close()

	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o777)
	if _, err := Listen(filepath.Join(open, "agent.sock")); err == nil || !strings.Contains(err.Error(), "not writable by others") {
		t.Fatalf("world-writable directory accepted: %v", err)
	}
}

func TestClientWithoutAgent(t *testing.T) {
	if FromEnv(func(string) (string, bool) { return "", true }) != nil {
		t.Error("empty BERTH_KEY_AGENT gave a client")
	}
	c := FromEnv(func(k string) (string, bool) { return filepath.Join(t.TempDir(), "none.sock"), k == EnvSocket })
	if c == nil {
		t.Fatal("no client")
	}
	_, err := c.Signer(context.Background(), KeyID(nil))
	if err == nil || errors.Is(err, ErrNotLoaded) || !strings.Contains(err.Error(), EnvSocket) {
		t.Fatalf("agent missing: %v (want a dial error naming %s)", err, EnvSocket)
	}
}

func FuzzHandle(f *testing.F) {
	f.Add([]byte(`{"op":"list"}`))
	f.Add([]byte(`{"op":"sign","key":"sha256:00","digest":"AAAA","hash":"SHA-256"}`))
	f.Add([]byte(`{"op":"add","key":"sha256:0000000000000000000000000000000000000000000000000000000000000000","pkcs8":"MIIB"}`))
	a := New()
	f.Fuzz(func(t *testing.T, line []byte) {
		var req request
		if jsonErr := json.Unmarshal(line, &req); jsonErr != nil {
			return
		}
		_ = a.handle(req)
	})
}

func TestWaitReadyAndDefaultSocket(t *testing.T) {
	_, c := startAgent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	gone := &Client{Socket: filepath.Join(t.TempDir(), "never.sock")}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	if err := gone.WaitReady(ctx2); err == nil {
		t.Fatal("WaitReady on a socket nobody serves returned nil")
	}
	if got := DefaultSocket(func(k string) (string, bool) { return "/run/x.sock", k == EnvSocket }); got != "/run/x.sock" {
		t.Errorf("DefaultSocket with %s = %s", EnvSocket, got)
	}
	if got := DefaultSocket(func(string) (string, bool) { return "", false }); !strings.HasSuffix(got, "/agent.sock") || !strings.Contains(got, "berth-key-agent-") {
		t.Errorf("DefaultSocket = %s", got)
	}
}
