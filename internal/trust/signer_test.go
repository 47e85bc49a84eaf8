package trust_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/sign"
	"github.com/berth-dev/berth/internal/trust"
)

// TestSigner: the key is loaded once with the password from the
// environment; each Sign signs one image by digest (a bundle that
// sign.Verify accepts); a wrong or missing password fails at load,
// naming the file.
func TestSigner(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k := newKey(t, dir, "cosign")
	host := memRegistry(t)
	s, err := trust.NewSigner(k.keyPath, envPrompt("pw"), sign.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sign.LoadPublicKey(k.pub)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"a", "b"} {
		ref := pushRandom(t, host+"/app:"+tag)
		if err := s.Sign(ctx, ref); err != nil {
			t.Fatal(err)
		}
		res, err := sign.Verify(ctx, ref, []*sign.PublicKey{pub}, sign.VerifyOptions{})
		if err != nil || len(res.Signatures) != 1 || res.Signatures[0].Format != sign.FormatBundle {
			t.Fatalf("%s: %+v %v", ref, res, err)
		}
	}
	if _, err := trust.NewSigner(k.keyPath, envPrompt("wrong"), sign.Options{}); !errors.Is(err, sign.ErrWrongPassword) || !strings.Contains(err.Error(), k.keyPath) {
		t.Errorf("wrong password: %v", err)
	}
	noPw := sign.Prompt{Getenv: func(string) (string, bool) { return "", false }, Terminal: func() bool { return false }}
	if _, err := trust.NewSigner(k.keyPath, noPw, sign.Options{}); err == nil || !strings.Contains(err.Error(), "BERTH_PASSWORD") || !strings.Contains(err.Error(), k.keyPath) {
		t.Errorf("no password: %v", err)
	}
}

// TestSigning: without a key nothing signs the images and attestations
// go unsigned; with one, the Signer and the Attester share the key,
// loaded once; a bad key fails naming the file.
func TestSigning(t *testing.T) {
	o := sign.Options{Insecure: true}
	s, a, err := trust.Signing("", envPrompt("pw"), o)
	if err != nil || s != nil || a == nil || a.Key != nil || !a.Options.Insecure {
		t.Fatalf("no key: %v %+v %v", s, a, err)
	}
	k := newKey(t, t.TempDir(), "cosign")
	s, a, err = trust.Signing(k.keyPath, envPrompt("pw"), o)
	if err != nil {
		t.Fatal(err)
	}
	signer, ok := s.(*trust.Signer)
	if !ok || signer.Key == nil || a.Key != signer.Key || !a.Options.Insecure || !signer.Options.Insecure {
		t.Fatalf("key: %+v %+v", s, a)
	}
	if _, _, err := trust.Signing(k.keyPath, envPrompt("wrong"), o); !errors.Is(err, sign.ErrWrongPassword) || !strings.Contains(err.Error(), k.keyPath) {
		t.Errorf("wrong password: %v", err)
	}
}
