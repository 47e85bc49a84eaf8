package sign

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/keyagent"
)

// agentPrompt returns prompts sharing a running agent: withPassword knows
// the key's password, noPassword has none and no terminal.
func agentPrompt(t *testing.T) (withPassword, noPassword Prompt) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent", "sock")
	l, err := keyagent.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { keyagent.New().Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	c := &keyagent.Client{Socket: sock}
	noTerm := func() bool { return false }
	withPassword = Prompt{Agent: c, Terminal: noTerm, Out: &strings.Builder{},
		Getenv: func(k string) (string, bool) { return "s3cret", k == "BERTH_PASSWORD" }}
	noPassword = Prompt{Agent: c, Terminal: noTerm, Out: &strings.Builder{},
		Getenv: func(string) (string, bool) { return "", false }}
	return withPassword, noPassword
}

func TestPrivateKeyFromAgentNeedsNoPassword(t *testing.T) {
	withPw, noPw := agentPrompt(t)
	keyPath, pubPath, err := WriteKeyPair(filepath.Join(t.TempDir(), "release"), []byte("s3cret"), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noPw.PrivateKey(keyPath); err == nil || !strings.Contains(err.Error(), "no password") {
		t.Fatalf("before add: %v, want the password error", err)
	}
	e, err := withPw.AddToAgent(context.Background(), keyPath, 0)
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != keyPath || !strings.HasPrefix(e.Key, "sha256:") {
		t.Errorf("entry %+v", e)
	}
	k, err := noPw.PrivateKey(keyPath)
	if err != nil {
		t.Fatalf("with the key in the agent: %v", err)
	}
	pub, err := LoadPublicKey(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if k.Public().Hint() != pub.Hint() || k.Public().Path != keyPath {
		t.Fatalf("agent key's public half %s (%s), file's %s", k.Public().Hint(), k.Public().Path, pub.Hint())
	}
	msg := []byte("simplesigning payload")
	sig, err := k.signMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.verifyMessage(msg, sig); err != nil {
		t.Fatalf("signature through the agent does not verify with cosign.pub: %v", err)
	}
	// Another key file (another content) is not served by the agent.
	other, _, err := WriteKeyPair(filepath.Join(t.TempDir(), "other"), []byte("s3cret"), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noPw.PrivateKey(other); err == nil {
		t.Fatal("a key never added was served")
	}
}

func TestAgentUnreachableFallsBackToPassword(t *testing.T) {
	keyPath, _, err := WriteKeyPair(filepath.Join(t.TempDir(), "k"), []byte("pw"), false)
	if err != nil {
		t.Fatal(err)
	}
	out := &strings.Builder{}
	p := Prompt{Agent: &keyagent.Client{Socket: filepath.Join(t.TempDir(), "gone.sock")}, Out: out,
		Terminal: func() bool { return false }, Getenv: func(k string) (string, bool) { return "pw", k == "BERTH_PASSWORD" }}
	if _, err := p.PrivateKey(keyPath); err != nil {
		t.Fatalf("fallback to the password failed: %v", err)
	}
	if !strings.Contains(out.String(), "decrypting "+keyPath+" instead") {
		t.Errorf("no note about the unreachable agent: %q", out.String())
	}
	if _, err := (Prompt{Getenv: func(string) (string, bool) { return "", false }}).AddToAgent(context.Background(), keyPath, 0); err == nil || !strings.Contains(err.Error(), keyagent.EnvSocket) {
		t.Errorf("add without an agent: %v", err)
	}
}
